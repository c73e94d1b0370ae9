# Reference values for cox_zph from R survival 3.5-3 cox.zph (transforms km, rank,
# identity; per term and GLOBAL). Usage (from this folder): Rscript make_zph_cases.R
# -> zph_cases.json. Data: R's veteran (ties), heart (counting process, delayed entry)
# and mgus2 (ties, strata), written by make_new_cases.R to data/ (run that first).
suppressMessages(library(survival))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), formatC(as.numeric(x), digits = 17, format = "g"), "null"), collapse = ","), "]")
vet <- read.csv("data/veteran.csv"); hr <- read.csv("data/heart.csv"); mg <- read.csv("data/mgus2.csv")
fits <- list(
  veteran_efron = coxph(Surv(time, status) ~ trt + karno + age, data = vet),
  veteran_breslow = coxph(Surv(time, status) ~ trt + karno, data = vet, ties = "breslow"),
  heart = coxph(Surv(start, stop, event) ~ transplant + I(id / 100), data = hr),
  mgus2_strata = coxph(Surv(etime, cause > 0) ~ I(entry / 100) + w + strata(sex), data = mg))
out <- character(0)
for (nm in names(fits)) for (tr in c("km", "rank", "identity")) {
  z <- cox.zph(fits[[nm]], transform = tr)
  out <- c(out, paste0('{"name":"', nm, '","transform":"', tr, '","chisq":', num(z$table[, "chisq"]),
                       ',"df":', num(z$table[, "df"]), ',"p":', num(z$table[, "p"]),
                       ',"coef":', num(coef(fits[[nm]])), "}"))
}
writeLines(paste0("[", paste(out, collapse = ",\n"), "]"), "zph_cases.json")
