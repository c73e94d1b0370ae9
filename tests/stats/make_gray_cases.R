# Reference values for gray_test from R cmprsk 2.2-11 cuminc()$Tests (Gray's test).
# Usage (from this folder): Rscript make_gray_cases.R -> gray_cases.json.
# Data in data/ (make_new_cases.R): mgus2 (progression vs death by sex; ties),
# veteran (two made-up causes; 2 and 4 groups; strata), aml (made-up competing cause);
# gray_untestable (11 rows, 4 causes: causes 1-3 have a variance of exactly 0, stat -1;
# from a fourth R parity probe, 2026-12-06, where aftercar's rounding left 1.5e-32).
suppressMessages(library(cmprsk))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), formatC(as.numeric(x), digits = 17, format = "g"), "null"), collapse = ","), "]")
gu <- read.csv("data/gray_untestable.csv")
mg <- read.csv("data/mgus2.csv"); vet <- read.csv("data/veteran.csv"); am <- read.csv("data/aml.csv")
vet$cause <- ifelse(vet$status == 0, 0, ifelse(vet$celltype %in% c("squamous", "large"), 1, 2))
am$cause <- ifelse(am$status == 0, 0, ifelse(seq_len(nrow(am)) %% 3 == 0, 2, 1))
one <- function(name, ci) {
  tt <- ci$Tests
  paste0('{"name":"', name, '","cause":', num(as.numeric(rownames(tt))), ',"stat":', num(tt[, "stat"]),
         ',"p":', num(tt[, "pv"]), ',"df":', num(tt[, "df"]), "}")
}
out <- c(
  one("mgus2_sex", cuminc(mg$etime, mg$cause, mg$sex)),
  one("mgus2_sex_rho1", cuminc(mg$etime, mg$cause, mg$sex, rho = 1)),
  one("veteran_trt", cuminc(vet$time, vet$cause, vet$trt)),
  one("veteran_celltype", cuminc(vet$time, vet$cause, vet$celltype)),
  one("veteran_trt_strata", cuminc(vet$time, vet$cause, vet$trt, strata = vet$celltype)),
  one("aml", cuminc(am$time, am$cause, am$x)),
  one("untestable", cuminc(gu$time, gu$status, gu$group)))
writeLines(paste0("[", paste(out, collapse = ",\n"), "]"), "gray_cases.json")
