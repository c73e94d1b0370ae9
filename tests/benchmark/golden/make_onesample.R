# One-sample log-rank reference values from R survival::survdiff with an offset.
# "If the right hand side of the formula consists only of an offset term, then a
# one sample test is done" (?survdiff): the offset is each subject's expected
# survival probability S0(t_i) under the reference curve; R reports
# observed O, expected E = sum(-log S0(t_i)) and chisq = (O - E)^2 / E.
# Usage (from tests/benchmark/golden): Rscript make_onesample.R onesample.json
# Data: tests/golden/veteran.csv and lung.csv (exported from R by make_golden.R).
suppressMessages(library(survival))
out <- commandArgs(TRUE)[1]
vet <- read.csv("../../golden/veteran.csv")
lung <- read.csv("../../golden/lung.csv")
dm <- 30.4375
exp_s <- function(t, rate) exp(-rate * t)
wei_s <- function(t, shape, scale) exp(-(t / scale)^shape)
pwe_s <- function(t, breaks, rates) {
  h <- sapply(t, function(u) { k <- findInterval(u, breaks); cum <- 0
    if (k > 1) cum <- sum(diff(breaks)[1:(k - 1)] * rates[1:(k - 1)])
    cum + rates[k] * (u - breaks[k]) })
  exp(-h)
}
cases <- list(
  list(name = "veteran_exponential", data = "veteran", kind = "exponential", rate = log(2) / 3.5,
       t = vet$time / dm, e = vet$status),
  list(name = "veteran_weibull", data = "veteran", kind = "weibull", shape = 0.8, scale = 5,
       t = vet$time / dm, e = vet$status),
  list(name = "lung_piecewise", data = "lung", kind = "piecewise_exponential",
       breaks = c(0, 6, 12), rates = c(0.05, 0.08, 0.12), t = lung$time / dm, e = lung$status)
)
fmt <- function(x) formatC(x, digits = 17, format = "g")
items <- c()
for (cs in cases) {
  s0 <- switch(cs$kind, exponential = exp_s(cs$t, cs$rate), weibull = wei_s(cs$t, cs$shape, cs$scale),
               piecewise_exponential = pwe_s(cs$t, cs$breaks, cs$rates))
  fit <- survdiff(Surv(cs$t, cs$e) ~ offset(s0))
  par <- switch(cs$kind, exponential = sprintf('"rate": %s', fmt(cs$rate)),
                weibull = sprintf('"shape": %s, "scale": %s', fmt(cs$shape), fmt(cs$scale)),
                piecewise_exponential = sprintf('"breaks": [%s], "rates": [%s]',
                  paste(fmt(cs$breaks), collapse = ","), paste(fmt(cs$rates), collapse = ",")))
  items <- c(items, sprintf(
    '  {"name": "%s", "data": "%s", "kind": "%s", %s, "observed": %s, "expected": %s, "chisq": %s}',
    cs$name, cs$data, cs$kind, par, fmt(fit$obs), fmt(fit$exp), fmt(fit$chisq)))
}
writeLines(c(sprintf('{"r_version": "%s", "survival_version": "%s", "months_per_day": "1/30.4375", "cases": [',
                     R.version.string, as.character(packageVersion("survival"))),
             paste(items, collapse = ",\n"), "]}"), out)
