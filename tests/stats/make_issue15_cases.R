# Reproducers for issue 15 (edge cases), checked against R survival 3.5-3.
# Usage (from this folder): Rscript make_issue15_cases.R  -> writes issue15_cases.json
# Made with R 4.2.2, survival 3.5-3, MASS (recommended package). Data are generated
# here with fixed seeds; every data set is written into the JSON beside R's answers.
suppressMessages({library(survival); library(MASS)})
num <- function(x) paste0("[", paste(ifelse(is.finite(x), formatC(x, digits = 17, format = "g"), "null"), collapse = ","), "]")
obj <- function(...) { x <- list(...); paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}") }
str1 <- function(s) paste0('"', gsub('"', "'", s), '"')

# 1. weighted KM quantile limits: 360 random fits with fractional weights
set.seed(20261201)
km <- character(0)
for (i in 1:360) {
  n <- sample(8:30, 1)
  time <- round(rexp(n, 0.1), 0) + 1
  status <- rbinom(n, 1, 0.65)
  w <- round(runif(n, 0.2, 3), 2)
  f <- survfit(Surv(time, status) ~ 1, weights = w, conf.type = "log-log")
  q <- quantile(f, probs = c(0.25, 0.5, 0.75))
  km <- c(km, obj(time = num(time), status = num(status), weights = num(w),
                  q_estimate = num(q$quantile), q_lower = num(q$lower), q_upper = num(q$upper)))
}

# 2. log-rank with a singular variance: stratum 1 holds groups b and c only,
#    stratum 2 group a only (zero variance), so V[b:c, b:c] has rank 1.
time <- c(1, 2, 3, 4, 5, 6, 7, 8, 2, 4, 6, 8)
status <- c(1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0)
group <- c("b", "c", "b", "c", "b", "c", "b", "c", "a", "a", "a", "a")
strat <- c(1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2)
# survdiff() itself stops here ("system is exactly singular"); take its parts
sd <- survival:::survdiff.fit(Surv(time, status), factor(group), strat)
sd$exp <- rowSums(sd$expected); sd$obs <- rowSums(sd$observed)
use <- sd$exp > 0
d <- ((sd$obs - sd$exp)[use])[-1]
vv <- (sd$var[use, use])[-1, -1, drop = FALSE]
chisq <- drop(t(d) %*% ginv(vv) %*% d)
rk <- qr(vv)$rank
lr_singular <- obj(time = num(time), status = num(status), group = paste0("[", paste0('"', group, '"', collapse = ","), "]"),
                   strata = num(strat), chisq = num(chisq), df = num(rk), p = num(pchisq(chisq, rk, lower.tail = FALSE)),
                   observed = num(sd$obs), expected = num(sd$exp))

# all censored: R's p is NA
ac <- survdiff(Surv(c(1, 2, 3, 4), c(0, 0, 0, 0)) ~ c("a", "b", "a", "b"))
lr_censored <- obj(chisq = num(ac$chisq), p = num(ac$pvalue))

# 3. impossible Cox fits: random 10-16 row designs with delayed entry and strata;
#    keep the ones where R runs out of iterations with a near-zero log-likelihood.
set.seed(15)
cox <- character(0)
for (it in 1:1600) {
  n <- sample(10:16, 1)
  entry <- round(runif(n, 0, 3), 1) * (runif(n) < 0.6)
  time <- entry + round(rexp(n, 0.3), 1) + 0.1
  status <- rbinom(n, 1, 0.7)
  x1 <- rbinom(n, 1, 0.5); x2 <- round(rnorm(n), 1)
  strat <- sample(1:2, n, TRUE)
  if (!(it %in% c(48, 833, 1098, 1486, 1559, 1622))) next
  msg <- ""
  fit <- withCallingHandlers(coxph(Surv(entry, time, status) ~ x1 + x2 + strata(strat)),
                             warning = function(w) { msg <<- conditionMessage(w); invokeRestart("muffleWarning") })
  cox <- c(cox, obj(id = num(it), entry = num(entry), time = num(time), status = num(status), x1 = num(x1),
                    x2 = num(x2), strata = num(strat), loglik = num(fit$loglik), iter = num(fit$iter), warning = str1(msg)))
}

writeLines(paste0("{", '"km_weighted_quantiles":[', paste(km, collapse = ",\n"), "],\n",
                  '"logrank_singular":', lr_singular, ",\n", '"logrank_all_censored":', lr_censored, ",\n",
                  '"cox_out_of_iterations":[', paste(cox, collapse = ",\n"), "]}"), "issue15_cases.json")
