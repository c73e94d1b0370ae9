# Cases where aftercar differed from R (a probe of R's own data sets, 2026-12-05).
# Usage (from this folder): Rscript make_probe_cases.R  -> writes probe_cases.json
# Made with R 4.2.2, survival 3.5-3. Every data set is written into the JSON beside R's
# answers, so the test needs no R.
suppressMessages(library(survival))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), trimws(formatC(x, digits = 17, format = "g")), "null"), collapse = ","), "]")
obj <- function(...) { x <- list(...); paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}") }
km_case <- function(entry, time, status, id, weights = rep(1, length(time))) {
  f <- survfit(Surv(entry, time, status) ~ 1, id = id, weights = weights, robust = TRUE)
  obj(entry = num(entry), time = num(time), status = num(status), id = num(id),
      weights = num(weights), r_time = num(f$time), n_risk = num(f$n.risk),
      n_event = num(f$n.event), n_censor = num(f$n.censor), surv = num(f$surv),
      std_err = num(f$std.err))
}

# 1. Kaplan-Meier of split (start, stop] rows with id: a censoring only where the
#    subject leaves (a row followed by the same id's row entering at its stop is not one)
h <- survival::heart
km <- c(km_case(h$start, h$stop, h$event, h$id),
        km_case(c(0, 5, 0, 0, 4), c(5, 10, 8, 4, 9), c(0, 1, 0, 1, 0), c(1, 1, 2, 3, 3)),
        km_case(c(0, 7, 0, 0, 4), c(5, 10, 8, 4, 9), c(0, 1, 0, 1, 0), c(1, 1, 2, 3, 3)),
        km_case(c(0, 5, 0, 0, 4), c(5, 10, 8, 4, 9), c(0, 1, 0, 1, 0), c(1, 1, 2, 3, 3),
                c(2, 2, 1, 1.5, 1.5)))

# 2. Aalen-Johansen with weights: the counts (n.risk, n.event) are of rows, unweighted
p <- survival::pbc
p$w <- round((p$id %% 7 + 1) / 3, 4)
st <- factor(p$status, levels = 0:2)
f <- survfit(Surv(time, st) ~ 1, data = p, weights = w, id = id)
cif <- obj(time = num(p$time), status = num(p$status), weights = num(p$w),
           r_time = num(f$time), n_risk = num(f$n.risk[, 1]),
           n_event_1 = num(f$n.event[, 2]), n_event_2 = num(f$n.event[, 3]),
           p_1 = num(f$pstate[, 2]), p_2 = num(f$pstate[, 3]))

# 3. quantile 0 of a curve (or limit curve) that never leaves 1: NA
q0 <- character(0)
for (ct in c("log", "log-log", "plain")) {
  for (d in list(list(time = c(1, 2, 3), status = c(0, 0, 0)),
                 list(time = c(1, 2, 3, 4), status = c(1, 0, 0, 0)),
                 list(time = c(1, 2, 3), status = c(1, 1, 1)))) {
    q <- quantile(survfit(Surv(d$time, d$status) ~ 1, conf.type = ct), c(0, 0.25, 0.5))
    q0 <- c(q0, obj(conf_type = paste0('"', ct, '"'), time = num(d$time), status = num(d$status),
                    quantile = num(q$quantile), lower = num(q$lower), upper = num(q$upper)))
  }
}

writeLines(paste0('{"km_split_rows":[', paste(km, collapse = ","), '],\n"cif_weighted":', cif,
                  ',\n"quantile_zero":[', paste(q0, collapse = ","), "]}"),
           "probe_cases.json")
