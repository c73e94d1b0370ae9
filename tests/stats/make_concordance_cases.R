# Reference values for concordance() from R survival 3.5-3 (Harrell's C, IJ variance,
# pair counts). Usage (from this folder): Rscript make_concordance_cases.R
# -> concordance_cases.json. Data in data/ (written by make_new_cases.R: veteran with
# ties, aml, mgus2 with delayed entry and weights, heart counting process).
suppressMessages(library(survival))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), formatC(as.numeric(x), digits = 17, format = "g"), "null"), collapse = ","), "]")
vet <- read.csv("data/veteran.csv"); am <- read.csv("data/aml.csv"); mg <- read.csv("data/mgus2.csv")
hr <- read.csv("data/heart.csv")
am$xn <- as.numeric(am$x == "Maintained")
cases <- list(
  veteran_karno = concordance(Surv(time, status) ~ karno, data = vet),
  veteran_age_reverse = concordance(Surv(time, status) ~ age, data = vet, reverse = TRUE),
  veteran_weights = concordance(Surv(time, status) ~ karno, data = vet, weights = seq(0.5, 1.5, length.out = nrow(vet))),
  veteran_strata = concordance(Surv(time, status) ~ karno + strata(celltype), data = vet),
  aml = concordance(Surv(time, status) ~ xn, data = am),
  mgus2 = concordance(Surv(etime, cause > 0) ~ w, data = mg),
  mgus2_entry = concordance(Surv(entry, etime, cause > 0) ~ w, data = mg),
  heart = concordance(Surv(start, stop, event) ~ I(id + 10 * transplant), data = hr))
out <- vapply(names(cases), function(nm) {
  f <- cases[[nm]]
  cnt <- if (is.matrix(f$count)) colSums(f$count) else f$count
  paste0('{"name":"', nm, '","concordance":', num(f$concordance), ',"var":', num(f$var),
         ',"count":', num(cnt[1:5]), "}")
}, "")
writeLines(paste0("[", paste(out, collapse = ",\n"), "]"), "concordance_cases.json")
