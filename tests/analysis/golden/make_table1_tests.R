# Golden p-values of Table 1 by group (R stats: wilcox.test, kruskal.test, fisher.test,
# chisq.test). Both categorical p-values are written; the test compares the one of the
# test aftercar names in its table.
# Run: Rscript tests/analysis/golden/make_table1_tests.R > tests/analysis/golden/table1_tests.json
p <- read.csv("tests/analysis/golden/table1_patients.csv", stringsAsFactors = FALSE)
continuous <- c("age_at_cart", "relapse_months", "prior_lines")
categorical <- c("sex", "site", "car_t_product", "car_t_best_response", "relapse_timing",
                 "high_risk_cytogenetics", "extramedullary_disease", "triple_class_refractory",
                 "penta_refractory", "iss_stage", "ecog")
out <- c()
for (by in c("relapse_timing", "car_t_product")) {
  g <- p[[by]]
  for (v in setdiff(c(continuous, categorical), by)) {
    x <- p[[v]]
    ok <- !is.na(x) & !is.na(g) & x != "" & g != ""
    if (v %in% continuous) {
      k <- length(unique(g[ok]))
      t <- if (k == 2) suppressWarnings(wilcox.test(x[ok] ~ g[ok])) else kruskal.test(x[ok], g[ok])
      out <- c(out, sprintf('{"by": "%s", "variable": "%s", "p_value": %.17g}', by, v, t$p.value))
    } else {
      tab <- table(x[ok], g[ok])
      chi <- suppressWarnings(chisq.test(tab, correct = FALSE))$p.value
      fisher <- if (min(dim(tab)) == 2) fisher.test(tab)$p.value else NA
      out <- c(out, sprintf('{"by": "%s", "variable": "%s", "chisq": %.17g, "fisher": %s}',
                            by, v, chi, if (is.na(fisher)) "null" else sprintf("%.17g", fisher)))
    }
  }
}
cat("[\n", paste(out, collapse = ",\n"), "\n]\n")
