# Golden values of tests/stats/test_cox_one_step.py: R's one-step Cox estimator
# (iter.max = 1, returned without a warning), lung without missing values
# (data/lung_iter1.csv: time, st = status - 1, age, sex, ph.ecog, inst).
# Run: Rscript tests/stats/make_iter1_case.R  (survival 3.5-3)
suppressMessages(library(survival))
lu <- read.csv("tests/stats/data/lung_iter1.csv")
f1 <- coxph(Surv(time, st) ~ age + sex + ph.ecog, data = lu, iter.max = 1)
print(c(coef(f1), sqrt(diag(f1$var)), f1$loglik, f1$score), digits = 15)
