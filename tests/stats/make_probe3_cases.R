# Cases where aftercar differed from R (third probe; R 4.2.2, survival 3.5-3):
# a robust (cluster) Cox variance near an infinite coefficient with delayed entry.
# Usage (from this folder): Rscript make_probe3_cases.R  -> writes probe3_cases.json
# Every data set is written into the JSON beside R's answers, so the test needs no R.
suppressMessages(library(survival))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), trimws(formatC(as.numeric(x), digits = 17, format = "g")), "null"), collapse = ","), "]")
obj <- function(...) { x <- list(...); paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}") }

# Fine-Gray (cause 2) with delayed entry: x_b separates the cause-2 events, its
# coefficient runs to infinity (R warns "beta may be infinite"). R's robust SE of
# x_b is stable as the coefficient grows (2.08797 at beta 18.5, 22.5 and 25.5);
# aftercar's was 9.078: the score residual of the row with exp(x beta) = 6e9 took
# the rounding residue of a cumulative hazard sum outside its (entry, stop] window.
fg83 <- data.frame(
  time = c(26.46, 2.46, 14.91, 6.51, 5.91, 1.68, 15.41, 0, 0.24, 0.05),
  status = c(1, 1, 1, 2, 1, 2, 0, 2, 3, 1),
  entry = c(25.96, 2.21, 5.91, 6.01, 0, 1.18, 12.41, -0.25, -0.01, 0),
  x_a = c(-1.38, -0.69, 1.79, -2.97, -1.52, 1.52, 0.28, -0.46, 1.04, 0.17),
  x_b = c(1, 1, 0, 1, 0, 0, 0, 1, 1, 0))
fg83$id <- seq_len(nrow(fg83))
fg83$st <- factor(fg83$status, levels = 0:3)
rows <- finegray(Surv(entry, time, st) ~ x_a + x_b + id, data = fg83, etype = "2", id = id)
fit <- suppressWarnings(coxph(Surv(fgstart, fgstop, fgstatus) ~ x_a + x_b, data = rows, weights = fgwt, cluster = id))
keep <- is.finite(rows$fgwt)
cox_rows <- rows[keep, ]
# the same model given to coxph directly as (start, stop] rows with weights and clusters
fit2 <- suppressWarnings(coxph(Surv(fgstart, fgstop, fgstatus) ~ x_a + x_b, data = cox_rows, weights = fgwt, cluster = id))

# Kaplan-Meier whose last value is 0.5 plus one rounding unit (fractional weights):
# R's quantile(fit) (default probs 0.25, 0.5, 0.75) gives the median by the
# flat-segment midpoint rule (tolerance sqrt(eps)); aftercar's median was None.
# (quantile(fit, 0.5) alone gives NA: R's early return tests max(1 - S) < min(probs).)
qcases <- list(
  list(w = c(2.8, 1.05, 2.34, 0.29, 0.66, 0.58, 3, 1.66), d = 3),
  list(w = c(0.17, 0.1, 2.52, 1.96, 0.23, 1.3, 2.85, 0.83), d = 5),
  list(w = c(1.17, 0.67, 2.63, 1.92, 1.86, 1.24, 1.55, 1.74), d = 4))
qjson <- sapply(qcases, function(qc) {
  n <- length(qc$w); status <- c(rep(1, qc$d), rep(0, n - qc$d))
  f <- survfit(Surv(seq_len(n), status) ~ 1, weights = qc$w)
  q <- quantile(f)
  obj(time = num(seq_len(n)), status = num(status), weights = num(qc$w), last_surv = num(f$surv[n]),
      probs = num(c(0.25, 0.5, 0.75)), estimate = num(q$quantile), lower = num(q$lower), upper = num(q$upper))
})

out <- paste0("{",
  '"km_median_at_half":[', paste(qjson, collapse = ","), "],",
  '"finegray_infinite_coef":', obj(
    time = num(fg83$time), status = num(fg83$status), entry = num(fg83$entry),
    x_a = num(fg83$x_a), x_b = num(fg83$x_b), cause = "2",
    coef = num(coef(fit)), se = num(sqrt(diag(fit$naive.var))), robust_se = num(sqrt(diag(fit$var)))),
  ',"cox_infinite_coef_entry":', obj(
    entry = num(cox_rows$fgstart), time = num(cox_rows$fgstop), status = num(cox_rows$fgstatus),
    weights = num(cox_rows$fgwt), cluster = num(cox_rows$id), x_a = num(cox_rows$x_a), x_b = num(cox_rows$x_b),
    coef = num(coef(fit2)), se = num(sqrt(diag(fit2$naive.var))), robust_se = num(sqrt(diag(fit2$var)))),
  "}")
writeLines(out, "probe3_cases.json")
