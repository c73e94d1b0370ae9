# Reference values for fine_gray from R survival 3.5-3: finegray() then
# coxph(Surv(fgstart, fgstop, fgstatus) ~ x + cluster(id), weights = fgwt).
# Usage (from this folder): Rscript make_finegray_cases.R -> finegray_cases.json.
# Data in data/ (make_new_cases.R): mgus2 (progression vs death; ties; and with its
# delayed entry, finegray(Surv(entry, time, ev) ~ ., id=)), veteran with
# a made-up two-cause split of deaths by cell type (ties), aml with every third event
# made a competing one.
suppressMessages(library(survival))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), formatC(as.numeric(x), digits = 17, format = "g"), "null"), collapse = ","), "]")
mg <- read.csv("data/mgus2.csv"); vet <- read.csv("data/veteran.csv"); am <- read.csv("data/aml.csv")
mg$male <- as.numeric(mg$sex == "M")
vet$cause <- ifelse(vet$status == 0, 0, ifelse(vet$celltype %in% c("squamous", "large"), 1, 2))
am$cause <- ifelse(am$status == 0, 0, ifelse(seq_len(nrow(am)) %% 3 == 0, 2, 1))
am$maint <- as.numeric(am$x == "Maintained")
one <- function(name, data, formula, cause, ties = "efron", entry = FALSE) {
  data$ev <- factor(data$cause, 0:2)
  data$rid <- seq_len(nrow(data))
  data$time2 <- data$tt
  fg <- if (entry) {
    finegray(update(formula, Surv(entry, time2, ev) ~ . + rid), data = data, id = rid,
             etype = as.character(cause))
  } else {
    finegray(update(formula, Surv(time2, ev) ~ . + rid), data = data, etype = as.character(cause))
  }
  rhs <- attr(terms(formula), "term.labels")
  f <- as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", paste(rhs, collapse = "+"), "+ cluster(rid)"))
  fit <- coxph(f, data = fg, weights = fgwt, ties = ties)
  paste0('{"name":"', name, '","cause":', cause, ',"ties":"', ties, '","coef":', num(coef(fit)),
         ',"se":', num(sqrt(diag(fit$naive.var))), ',"robust_se":', num(sqrt(diag(fit$var))),
         ',"rows":', nrow(fg), ',"weight_sum":', num(sum(fg$fgwt)), "}")
}
mg$tt <- mg$etime; vet$tt <- vet$time; am$tt <- am$time
out <- c(
  one("mgus2_pcm", mg, ~ male + w, 1),
  one("mgus2_death", mg, ~ male + w, 2),
  one("veteran", vet, ~ karno + trt, 1),
  one("veteran_breslow", vet, ~ karno + trt, 2, "breslow"),
  one("aml", am, ~ maint, 1),
  one("mgus2_entry", mg, ~ male + w, 1, entry = TRUE),
  one("mgus2_entry_death", mg, ~ male + w, 2, entry = TRUE))
writeLines(paste0("[", paste(out, collapse = ",\n"), "]"), "finegray_cases.json")
