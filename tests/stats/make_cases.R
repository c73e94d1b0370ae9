# Reference values from R survival for the hand-worked micro cases in test_km_cases.py,
# test_logrank.py, test_proportions.py and test_followup.py.
# Usage (from this folder): Rscript make_cases.R   -> writes r_cases.json
# Made with R 4.2.2, survival 3.5-3. Base R only (no jsonlite).
suppressMessages(library(survival))
toj <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    nm <- names(x)
    body <- vapply(seq_along(x), function(i) toj(x[[i]]), "")
    if (is.null(nm)) return(paste0("[", paste(body, collapse = ","), "]"))
    return(paste0("{", paste0('"', nm, '":', body, collapse = ","), "}"))
  }
  if (is.character(x)) return(paste0("[", paste0('"', x, '"', collapse = ","), "]"))
  x <- as.numeric(x)
  paste0("[", paste(ifelse(is.finite(x), formatC(x, digits = 17, format = "g"), "null"), collapse = ","), "]")
}
kmcase <- function(time, event, weights = NULL, entry = NULL, landmarks = NULL) {
  out <- list(time = time, event = event, weights = weights, entry = entry)
  y <- if (is.null(entry)) Surv(time, event) else Surv(entry, time, event)
  w <- if (is.null(weights)) rep(1, length(time)) else weights
  for (ct in c("log", "log-log", "plain")) {
    f <- survfit(y ~ 1, weights = w, conf.type = ct)
    s <- summary(f, censored = TRUE)
    q <- quantile(f, probs = c(0.25, 0.5, 0.75))
    r <- list(time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
              surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper,
              q_estimate = q$quantile, q_lower = q$lower, q_upper = q$upper)
    if (!is.null(landmarks)) {
      keep <- landmarks[landmarks <= max(f$time)]
      sm <- summary(f, times = keep)
      r$at_time <- sm$time; r$at_surv <- sm$surv; r$at_lower <- sm$lower; r$at_upper <- sm$upper
    }
    out[[ct]] <- r
  }
  out
}
km <- list(
  ties_censor_at_event = kmcase(c(1,2,2,3,4,4,5,6), c(0,1,0,1,1,1,0,1), landmarks = c(0, 0.5, 1, 2, 2.5, 6)),
  midpoint_flat_half = kmcase(c(1,2,3,4), c(1,1,1,1), landmarks = c(2, 3.5)),
  midpoint_last_point = kmcase(c(1,2,3,4), c(1,1,0,0)),
  single_event = kmcase(5, 1),
  single_censored = kmcase(5, 0),
  all_censored = kmcase(c(1,2,2,3), c(0,0,0,0), landmarks = c(0, 2)),
  surv_reaches_zero_with_censor_tie = kmcase(c(1,2,3,3,3), c(1,0,1,1,0)),
  integer_weights = kmcase(c(1,2,2,3,4,4,5,6), c(0,1,0,1,1,1,0,1), weights = c(1,2,1,3,1,1,2,1)),
  fractional_weights_robust = kmcase(c(1,2,2,3,4,4,5,6,7,8), c(0,1,0,1,1,1,0,1,0,1),
                                     weights = c(0.5,1.5,1,2.5,1,0.7,2,1,1.2,0.9)),
  delayed_entry = kmcase(c(1,2,2,3,4,4,5,6), c(0,1,0,1,1,1,0,1), entry = c(0,0,1,0,2,3.5,0,0),
                         landmarks = c(0, 0.5, 2, 2.5, 6)),
  entry_and_fractional_weights = kmcase(c(2,3,3,5,6,8,9,12), c(1,0,1,1,0,1,1,0),
                                        entry = c(0,1,0,2,0,4,1,3), weights = c(1.5,1,0.5,2,1,1.25,1,0.75)),
  negative_times = kmcase(c(-2,-1,0,1,3), c(1,0,1,1,0)),
  near_ties_timefix = kmcase(c(1, 1 + 1e-10, 2, 2 - 1e-12, 3, 4), c(1,1,0,1,1,0))
)
# conf_level = 0.90 on the ties case
km90 <- list()
for (ct in c("log", "log-log", "plain")) {
  f <- survfit(Surv(c(1,2,2,3,4,4,5,6,7,9), c(0,1,0,1,1,1,0,1,1,0)) ~ 1, conf.type = ct, conf.int = 0.9)
  q <- quantile(f, probs = c(0.25, 0.5, 0.75))
  km90[[ct]] <- list(lower = f$lower, upper = f$upper, q_lower = q$lower, q_upper = q$upper)
}
lr <- function(time, event, group, strata = NULL) {
  g <- factor(group)
  sd <- if (is.null(strata)) survdiff(Surv(time, event) ~ g) else survdiff(Surv(time, event) ~ g + strata(strata))
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(ex > 0) - 1
  list(time = time, event = event, group = as.character(group), strata = if (is.null(strata)) NULL else as.character(strata),
       levels = levels(g), observed = obs, expected = ex, var = as.vector(sd$var), chisq = sd$chisq, df = df,
       p = pchisq(sd$chisq, df, lower.tail = FALSE))
}
set.seed(42)
n <- 60; tt <- round(rexp(n, 0.1)); ee <- rbinom(n, 1, 0.7); gg <- sample(c("a","b","c"), n, TRUE); ss <- sample(1:3, n, TRUE)
logrank <- list(
  two_groups_small = lr(c(1,2,3,4,5,6), c(1,1,1,1,1,0), c("a","a","a","b","b","b")),
  three_groups_ties = lr(tt, ee, gg),
  three_groups_stratified = lr(tt, ee, gg, ss),
  all_censored_group = lr(c(1,2,3,4,5,6,2,4,8), c(1,1,0,1,0,1,0,0,0), c("a","a","a","b","b","b","c","c","c")),
  zero_expected_group = lr(c(5,6,7,8,1,2), c(1,1,0,1,0,0), c("a","a","b","b","c","c")),
  near_ties_timefix = lr(c(1, 1 + 1e-10, 2, 2 - 1e-12, 3, 4), c(1,1,0,1,1,0), c("a","b","a","b","a","b"))
)
xs <- c(0, 1, 17, 32, 35, 5); ns <- c(10, 10, 79, 35, 35, 5)
props <- list(x = xs, n = ns,
  exact_lower = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i])$conf.int[1]),
  exact_upper = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i])$conf.int[2]),
  exact90_lower = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i], conf.level = 0.9)$conf.int[1]),
  exact90_upper = sapply(seq_along(xs), function(i) binom.test(xs[i], ns[i], conf.level = 0.9)$conf.int[2]),
  wilson_lower = sapply(seq_along(xs), function(i) prop.test(xs[i], ns[i], correct = FALSE)$conf.int[1]),
  wilson_upper = sapply(seq_along(xs), function(i) prop.test(xs[i], ns[i], correct = FALSE)$conf.int[2]))
bt <- list(x = c(32, 3, 17, 0, 10, 7), n = c(35, 20, 79, 12, 20, 14), p = c(0.7, 0.3, 0.434, 0.1, 0.5, 0.25))
bt$p_two_sided <- sapply(seq_along(bt$x), function(i) binom.test(bt$x[i], bt$n[i], bt$p[i])$p.value)
bt$p_less <- sapply(seq_along(bt$x), function(i) binom.test(bt$x[i], bt$n[i], bt$p[i], alternative = "less")$p.value)
bt$p_greater <- sapply(seq_along(bt$x), function(i) binom.test(bt$x[i], bt$n[i], bt$p[i], alternative = "greater")$p.value)
tabs <- list(matrix(c(3,1,1,3),2), matrix(c(10,2,3,15),2), matrix(c(1,2,3,4,5,6),2), matrix(c(2,7,1,9,4,0,3,3,5),3),
             matrix(c(12,5,8,3,2,9,14,6,1,0,4,7),3), matrix(c(20,15,7,10,3,12,5,9,11,2),2),
             matrix(c(8,2,5,6,1,9,0,4),2), matrix(c(25,30,40,35),2))
fisher <- lapply(tabs, function(t) list(nrow = nrow(t), table = as.vector(t(t)), p = fisher.test(t)$p.value))
# a table too large for FEXACT's workspace: R's Monte Carlo p-value (B = 2e5) as reference
big <- rbind(c(16, 8, 12, 11, 21, 20, 4, 11, 32, 21, 12), c(33, 11, 32, 13, 29, 27, 5, 17, 27, 25, 13))
set.seed(1)
fisher_sim <- list(nrow = 2, table = as.vector(t(big)), B = 2e5,
                   p = fisher.test(big, simulate.p.value = TRUE, B = 2e5)$p.value)
chis <- lapply(tabs[c(2, 6, 8)], function(t) {
  r <- suppressWarnings(chisq.test(t)); list(nrow = nrow(t), table = as.vector(t(t)), statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value)
})
chis_nocorrect <- lapply(tabs[c(2, 8)], function(t) {
  r <- chisq.test(t, correct = FALSE); list(nrow = nrow(t), table = as.vector(t(t)), statistic = unname(r$statistic), p = r$p.value)
})
ft <- c(2,5,7,9,12,14,3,3,8,20); fe <- c(1,0,1,0,0,1,1,0,0,0)
fq <- quantile(survfit(Surv(ft, 1 - fe) ~ 1, conf.type = "log-log"), 0.5)
fql <- quantile(survfit(Surv(ft, 1 - fe) ~ 1, conf.type = "log"), 0.5)
follow <- list(time = ft, event = fe, loglog = c(fq$quantile, fq$lower, fq$upper), log = c(fql$quantile, fql$lower, fql$upper))
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            km = km, logrank = logrank, proportions = props, binom_test = bt, fisher = fisher,
            fisher_sim = fisher_sim, km90 = km90,
            chisq = chis, chisq_nocorrect = chis_nocorrect, followup = follow)
cat(toj(out), "\n", file = "r_cases.json")
