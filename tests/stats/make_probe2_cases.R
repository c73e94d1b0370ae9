# Cases where aftercar differed from R (second probe, 1,001 cases; R 4.2.2, survival
# 3.5-3, cmprsk 2.2-11): fuzzed cohorts and hand-made edge cases.
# Usage (from this folder): Rscript make_probe2_cases.R  -> writes probe2_cases.json
# Every data set is written into the JSON beside R's answers, so the test needs no R.
# fz* data frames are (groups of) the probe's seeded fuzzed cohorts, copied here.
suppressMessages({library(survival); library(cmprsk)})
num <- function(x) paste0("[", paste(ifelse(is.finite(x), trimws(formatC(as.numeric(x), digits = 17, format = "g")), "null"), collapse = ","), "]")
chr <- function(x) paste0("[", paste0('"', x, '"', collapse = ","), "]")
obj <- function(...) { x <- list(...); paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}") }
str1 <- function(s) paste0('"', gsub('"', "'", gsub("\n", " ", s)), '"')
err <- function(expr) tryCatch({force(expr); ""}, error = function(e) conditionMessage(e))

fz3_cif_037 <- data.frame(  # group a of the probe's case
  time = c(24.045, 3.81, 6.814, 8.361, 6.709, 6.89, 32.519, 1.264, 16.706, 13.255, 10.454, 30.855, 3.856, 6.736, 32.637),
  status = c(2, 0, 2, 1, 2, 1, 1, 1, 2, 1, 2, 1, 2, 0, 1),
  entry = c(3.856, 0, 4.814, 7.861, 0, 4.53, 32.019, 0.764, 16.206, 12.255, 9.954, 30.355, 3.356, 6.236, 27.637),
  weights = c(0.293, 2.03, 1.007, 0.354, 1.519, 1.755, 1.793, 0.902, 0.933, 1.904, 0.574, 1.417, 2.182, 2.459, 1.826))
fz3_cif_045 <- data.frame(  # group b of the probe's case
  time = c(8.047, 4.995, 0.595, 0.22, 2.352, 0, 12.095, 18.73, 2.937, 0, 3.454, 0.215, 0, 5.813, 19.502, 1.472),
  status = c(0, 0, 0, 2, 1, 1, 1, 0, 0, 0, 2, 1, 2, 0, 1, 2),
  entry = c(7.547, 4.495, 0, -0.28, 0, -0.5, 3.454, 18.23, 0.22, -0.5, 2.954, -0.285, -0.5, 0.813000000000001, 17.502, 0.972),
  weights = c(2.396, 0.599, 2.055, 2.114, 2.078, 2.164, 0.324, 1.075, 1.478, 1.883, 2.494, 0.35, 0.732, 1.095, 1.534, 1.046))
fz_cif_08 <- data.frame(  # group b of the probe's case
  time = c(4.632, 4.456, 34.901, 3.912, 6.722),
  status = c(0, 2, 1, 3, 3),
  entry = c(0, 2.456, 33.901, 3.412, 1.722),
  weights = c(0.524, 0.311, 1.856, 1.843, 2.188))
fz_gray_09 <- data.frame(
  time = c(1, 3, 1, 2, 1, 3, 3, 2, 1, 3, 3, 2, 1, 2, 3),
  status = c(3, 3, 3, 1, 3, 3, 1, 1, 3, 2, 1, 2, 1, 3, 2),
  group = c("b", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a"))
fz_gray_14 <- data.frame(
  time = c(1.388, 33.544, 7.983, 15.87, 10.361, 3.221),
  status = c(2, 1, 1, 3, 1, 2),
  group = c("b", "a", "b", "a", "a", "a"))
fz_gray_28 <- data.frame(
  time = c(3, 2, 1, 1, 1, 3),
  status = c(2, 0, 0, 0, 3, 0),
  group = c("a", "b", "a", "a", "a", "a"),
  strata = c(1, 2, 1, 2, 2, 2))
fz_fg_09 <- data.frame(
  time = c(2, 2, 4, 0, 3, 3, 3, 1, 2, 0, 4, 0, 1, 1, 0, 4, 4, 0, 2, 3, 2, 2, 4, 3, 1, 0, 2, 2, 3, 3, 3, 1, 3, 0, 2, 3, 2, 4, 3, 4, 2, 0, 3, 0, 1, 1, 0, 4, 1, 2),
  status = c(0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 2, 0, 0, 0, 0, 2, 0, 2, 1, 2, 1, 0, 2, 2, 2, 0, 1, 2, 1, 0, 1, 0, 0, 1, 0, 0),
  entry = c(0, 1, 2, -0.5, 0, 2.5, 2, 0, 0, -0.5, 3, -0.5, 0, 0, -0.5, 0, 0, -0.5, 0, 2.5, 0, 0, 0, 2.5, 0, -0.5, 0, 0, 1, 0, 2.5, 0, 0, -0.5, 0, 0, 0, 3.5, 0, 0, 0, -0.5, 2, -0.5, 0.5, 0, -0.5, 0, 0.5, 1),
  x_a = c(0.465322751591912, -0.174868863075006, -0.292825982457906, 0.649720856699863, 0.637996849783758, 0.438095716251367, 0.679801909527186, -0.611196881007615, -0.515716213446592, -0.313157725674598, -0.0226482854328263, 1.17853276672563, -0.177597657228572, -0.6353858546303, -1.15356754037379, -0.56231141227342, 2.11154794893934, 0.209972356812314, -0.124027933880359, 0.428919225126782, 0.666373123288427, -0.43563874424583, 0.234276440685009, -0.698185196762274, -1.10578403619454, -0.0920658799733531, 1.50636523607362, 0.538029006540482, 0.0237273761287606, 1.37480995064922, -1.40646683137415, -0.241740632970292, 0.264503285911008, -1.19861076739134, -0.635940589564016, -0.38949833183914, 0.676293710646916, -0.543470395104873, 1.033267398065, -1.01132308819177, 0.256878567170436, -0.80507417158036, -0.621020413951502, 2.27654328026054, -2.22595304764385, -0.707507817446372, -1.9143067777727, 1.14500261281974, 0.362149596658655, -0.662466304135142),
  x_b = c(1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1))
fz3_km_091 <- data.frame(
  time = c(3, 3, 3, 3, 1, 1, 3, 1, 3, 2, 1, 4, 3, 3, 1, 3, 4, 4, 1, 3, 2, 2, 1, 3, 3),
  status = c(1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0),
  entry = c(2.5, 0, 2.5, 0, 0, 0, 0, 0.5, 2.5, 0, 0, 2, 1, 0, 0, 0, 3.5, 3.5, 0.5, 1, 1.5, 0, 0, 0, 1),
  cluster = c(6, 5, 10, 5, 9, 10, 8, 1, 10, 12, 3, 12, 1, 2, 10, 1, 12, 3, 12, 10, 2, 9, 7, 2, 1))
fz3_km_122 <- data.frame(
  time = c(5, 6, 8, 6, 7, 6, 8, 9, 1, 2, 2, 2, 6, 12, 10, 12, 5, 8, 9, 6, 10, 3, 3, 6, 7, 6, 2, 2, 5, 4, 12, 3, 12, 11, 3, 8, 8, 1, 1, 9, 9, 3, 2, 4, 4, 7, 11, 3, 2, 2, 3, 11, 8, 2, 12, 9, 11, 2, 8, 7, 9, 6, 8, 3, 1, 7, 7, 12, 4, 11),
  status = c(1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1),
  entry = c(4.5, 0, 1, 5, 6.5, 5.5, 3, 4, 0.5, 1.5, 0, 1.5, 5.5, 11, 7, 11, 4.5, 7.5, 7, 2, 8, 2.5, 0, 5.5, 2, 4, 1, 1.5, 4, 1, 11, 1, 3, 6, 0, 6, 6, 0, 0, 8.5, 7, 2.5, 0, 0, 3.5, 6.5, 2, 2.5, 0, 0, 2.5, 6, 7.5, 1, 6, 8.5, 10.5, 1.5, 2, 3, 4, 1, 3, 2, 0.5, 5, 3, 11, 3.5, 10.5),
  cluster = c(15, 35, 3, 29, 18, 2, 7, 32, 3, 17, 21, 30, 8, 4, 7, 5, 35, 12, 15, 16, 5, 24, 1, 19, 12, 28, 21, 16, 27, 5, 11, 8, 31, 31, 8, 33, 29, 28, 5, 26, 26, 21, 19, 35, 23, 32, 15, 8, 3, 5, 26, 8, 23, 6, 22, 15, 24, 12, 15, 10, 17, 1, 16, 16, 20, 18, 23, 32, 19, 21))
fz_conc_20 <- data.frame(
  time = c(3.595, 16.148, 2.724, 9.446, 0, 0, 5.272, 9.941, 2.627, 17.664),
  status = c(1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
  entry = c(0, 15.148, 2.224, 8.446, -0.5, -0.5, 4.272, 4.941, 0, 3.595),
  weights = c(1.569, 1.075, 1.628, 1.66, 2.494, 1.48, 1.153, 0.434, 1.988, 1.662),
  x = c(20, 31, 35, 46, 1, 5, 36, 39, 42, 12),
  strata = c(2, 2, 1, 2, 1, 2, 1, 1, 1, 1))
fz3_conc_046 <- data.frame(
  time = c(2, 1, 1, 2, 2),
  status = c(1, 0, 0, 0, 0),
  weights = c(3, 3, 1, 1, 3),
  x = c(1.51647102905922, 2.85153893932974, 2.16175426351229, 0.777065455658885, 2.99862835689371),
  strata = c(2, 1, 2, 1, 1))
fz_cox_08 <- data.frame(
  time = c(15, 22, 25, 14, 16, 0, 0, 8, 28, 28),
  status = c(1, 0, 1, 1, 1, 1, 1, 1, 1, 1),
  entry = c(14.5, 20, 24.5, 12, 0, -0.5, -0.5, 3, 0, 23),
  weights = c(3, 1, 3, 2, 2, 1, 1, 2, 3, 2),
  x_a = c(-1.17957654205985, 0.0620654026199189, 0.631346100287888, 0.979278582302701, 0.145186761154891, -0.271715624647737, -0.424371985151492, -0.404661201675241, 0.81229233916451, 0.0525945893346963),
  x_b = c(0, 0, 0, 1, 1, 1, 0, 0, 1, 0))
fz_cox_22 <- data.frame(
  time = c(5, 3, 4, 5, 5, 7, 2, 2, 5, 6),
  status = c(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
  entry = c(0, 2.5, 3.5, 4.5, 3, 5, 1.5, 1.5, 4.5, 5),
  x_a = c(-0.741406399521028, 0.25234916406075, -0.638392566981401, -0.307852294719455, 0.414109978408662, 0.401887077974064, -1.74250270419643, 1.74230375264007, -0.279044693068708, 0.293840575259489),
  x_b = c(1, 1, 1, 0, 1, 0, 1, 1, 0, 0))
fz_cox_23 <- data.frame(
  time = c(8, 6, 19, 21, 25, 3, 30, 2, 25, 26),
  status = c(0, 0, 1, 1, 0, 1, 0, 0, 1, 1),
  entry = c(3, 5.5, 17, 0, 23, 2.5, 28, 0, 3, 25),
  weights = c(2, 2, 2, 1, 2, 3, 3, 2, 1, 3),
  cluster = c(3, 4, 5, 5, 4, 4, 3, 4, 5, 3),
  x_a = c(0.816227786925775, 0.919928131649674, 0.548089816874129, 0.928810370008683, -1.0188164624764, -0.453248622403453, 0.253394268386084, 0.279323685697194, -0.865334270655588, -1.57309737337248),
  x_b = c(0, 1, 1, 0, 1, 0, 0, 1, 1, 1),
  x_c = c(0, 20, 0, 20, 10, 10, 0, 10, 20, 20))

## 1. Kaplan-Meier, fractional weights, subjects entering after S reached 0: R's
##    infinitesimal-jackknife std.err is finite where S > 0 (aftercar gave NaN).
##    Weights are multiples of 1/8, so that R's running sums are exact.
km_row <- function(d, conf.type, id = NULL) {
  f <- if (is.null(id)) survfit(Surv(entry, time, status) ~ 1, data = d, weights = weights, conf.type = conf.type)
       else survfit(Surv(entry, time, status) ~ 1, data = d, weights = weights, conf.type = conf.type,
                    id = id, robust = TRUE)
  s <- summary(f, censored = TRUE)
  obj(conf_type = str1(conf.type), entry = num(d$entry), time = num(d$time), status = num(d$status),
      weights = num(d$weights), id = if (is.null(id)) "null" else num(id),
      r_time = num(f$time), n_risk = num(f$n.risk), n_event = num(f$n.event),
      n_censor = num(f$n.censor), surv = num(f$surv), std_err = num(s$std.err),
      lower = num(f$lower), upper = num(f$upper))
}
late <- list(data.frame(entry = c(0, 0, 3, 4, 4.5), time = c(1, 2, 5, 6, 7), status = c(1, 1, 1, 0, 1),
                        weights = c(0.5, 1.5, 0.25, 0.75, 0.5)))
set.seed(20261206)
for (i in 1:12) {  # a first cohort followed until all have died, then late entrants
  n1 <- sample(3:8, 1); n2 <- sample(2:6, 1)
  t1 <- round(runif(n1, 0.5, 10), 1); st1 <- rbinom(n1, 1, 0.7); st1[which.max(t1)] <- 1
  e2 <- max(t1) + round(runif(n2, 0, 3), 1); t2 <- e2 + round(runif(n2, 0.5, 8), 1)
  late[[length(late) + 1]] <- data.frame(
    entry = c(pmax(0, t1 - round(runif(n1, 0.5, 12), 1)), e2), time = c(t1, t2),
    status = c(st1, rbinom(n2, 1, 0.6)), weights = sample(1:24, n1 + n2, replace = TRUE) / 8)
}
km_late <- character(0)
for (i in seq_along(late)) km_late <- c(km_late, km_row(late[[i]], c("log", "log-log", "plain")[i %% 3 + 1]))

## 2. Kaplan-Meier with id on (start, stop] rows (robust = TRUE): n.censor is R's
##    survflag rule. Rows of an id sorted by stop; a row is followed (no censoring)
##    when the next row of the id starts at or before its stop: abutting or
##    overlapping rows; a gap or the last row ends a run.
cl <- list(data.frame(entry = c(0, 2, 5), time = c(5, 6, 10), status = c(0, 0, 1), weights = 1, id = c(1, 1, 1)),
           data.frame(entry = c(0, 3, 0), time = c(5, 10, 4), status = c(0, 1, 0), weights = 1, id = c(1, 1, 2)),
           with(fz3_km_091, data.frame(entry, time, status, weights = 1, id = cluster)),
           with(fz3_km_122, data.frame(entry, time, status, weights = 1, id = cluster)),
           with(myeloma, data.frame(entry, time = futime, status = death, weights = 1, id = year)))
set.seed(20261207)
for (i in 1:8) {  # ids with 1-4 rows: abutting, overlapping, gapped, tied stops
  nid <- sample(4:12, 1); k <- sample(1:4, nid, replace = TRUE); id <- rep(seq_len(nid), k)
  entry <- round(runif(length(id), 0, 6)); time <- entry + sample(1:6, length(id), replace = TRUE)
  for (j in which(duplicated(id) & runif(length(id)) < 0.5)) entry[j] <- min(time[j] - 1, time[j - 1])
  w <- if (i %% 2) rep(1, length(id)) else sample(1:12, length(id), replace = TRUE) / 4
  cl[[length(cl) + 1]] <- data.frame(entry, time, status = rbinom(length(id), 1, 0.4), weights = w, id = id)
}
km_cl <- character(0)
for (d in cl) km_cl <- c(km_cl, km_row(d, "log", d$id))

## 3. Aalen-Johansen with fractional weights and entry, where the risk set is
##    exhausted at a time: R's std.err is 0 and estimates exact (aftercar's risk set
##    by subtraction left 1e-16, std.err 2e7, limits [0, 1]).
cif_row <- function(d) {
  causes <- sort(unique(d$status[d$status > 0]))
  f <- survfit(Surv(entry, time, factor(status, levels = c(0, causes))) ~ 1, data = d,
               weights = weights, id = seq_len(nrow(d)))
  j <- match(as.character(causes), f$states)
  obj(entry = num(d$entry), time = num(d$time), status = num(d$status), weights = num(d$weights),
      causes = num(causes), r_time = num(f$time), n_risk = num(f$n.risk[, 1]),
      estimate = paste0("[", paste(sapply(j, function(k) num(f$pstate[, k])), collapse = ","), "]"),
      std_err = paste0("[", paste(sapply(j, function(k) num(f$std.err[, k])), collapse = ","), "]"),
      lower = paste0("[", paste(sapply(j, function(k) num(f$lower[, k])), collapse = ","), "]"),
      upper = paste0("[", paste(sapply(j, function(k) num(f$upper[, k])), collapse = ","), "]"))
}
cif <- c(cif_row(data.frame(entry = c(-0.285, 0.813, 0.972), time = c(0.215, 5.813, 1.472),
                            status = c(1, 0, 2), weights = c(0.35, 1.095, 1.046))),
         cif_row(fz3_cif_037), cif_row(fz3_cif_045), cif_row(fz_cif_08))
# the same residue in Kaplan-Meier (all causes as one event)
km_res <- character(0)
for (d in list(data.frame(entry = c(-0.285, 0.813, 0.972), time = c(0.215, 5.813, 1.472),
                          status = c(1, 0, 1), weights = c(0.35, 1.095, 1.046)),
               transform(fz3_cif_045, status = 1 * (status > 0))))
  km_res <- c(km_res, km_row(d, "log"))

## 4. Gray's test with a rank-deficient variance: cuminc reports stat -1, p 1 for
##    that cause (qr rank, tolerance 1e-7) and still tests the others.
gray_row <- function(d, rho) {
  tt <- if (is.null(d$strata)) cuminc(d$time, d$status, d$group, rho = rho)$Tests
        else cuminc(d$time, d$status, d$group, strata = d$strata, rho = rho)$Tests
  obj(time = num(d$time), status = num(d$status), group = chr(d$group),
      strata = if (is.null(d$strata)) "null" else num(d$strata), rho = num(rho),
      cause = num(as.numeric(rownames(tt))), stat = num(tt[, "stat"]), p = num(tt[, "pv"]),
      df = num(tt[, "df"]))
}
gray <- c(gray_row(data.frame(time = c(3, 2, 1, 1, 1, 3), status = c(2, 0, 0, 0, 3, 0),
                              group = c("a", "b", "a", "a", "a", "a"), strata = c(1, 2, 1, 2, 2, 2)), 0),
          gray_row(fz_gray_09, 0), gray_row(fz_gray_14, 1), gray_row(fz_gray_28, 1))

## 5. Fine-Gray with entry where someone enters after the risk set has emptied:
##    finegray gives NaN weights (H = 0), coxph drops those rows (na.omit); an Inf
##    weight makes coxph stop.
fg_row <- function(d, cause) {
  xs <- grep("^x", names(d), value = TRUE)
  d$id <- seq_len(nrow(d))
  fg <- finegray(as.formula(paste("Surv(entry, time, factor(status, levels = 0:", max(d$status),
                                  ")) ~", paste(c(xs, "id"), collapse = "+"))),
                 data = d, etype = as.character(cause), id = id)
  msg <- err(fit <- coxph(as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", paste(xs, collapse = "+"))),
                          data = fg, weights = fgwt, cluster = id))
  x <- paste0("{", paste0('"', xs, '":', sapply(xs, function(v) num(d[[v]])), collapse = ","), "}")
  if (nzchar(msg)) return(obj(entry = num(d$entry), time = num(d$time), status = num(d$status), x = x,
                              cause = num(cause), n_nan = num(sum(is.nan(fg$fgwt))), error = str1(msg)))
  obj(entry = num(d$entry), time = num(d$time), status = num(d$status), x = x, cause = num(cause),
      n_nan = num(sum(is.nan(fg$fgwt))), error = '""', n = num(fit$n), coef = num(coef(fit)),
      se = num(sqrt(diag(fit$naive.var))), robust_se = num(sqrt(diag(fit$var))))
}
fg <- c(fg_row(data.frame(entry = c(0, 0, 0, 0, 0, 6), time = c(1, 2, 3, 4, 5, 7), status = c(1, 2, 1, 2, 0, 1),
                          x = c(0.1, 1.2, 0.3, -0.5, 0.8, 2.0)), 1),
        fg_row(with(fz_fg_09, data.frame(entry, time, status, x_a, x_b)), 2),
        fg_row(data.frame(entry = c(0, 0, 0, 3, 3), time = c(1, 1.5, 2, 5, 6), status = c(2, 0, 1, 1, 0),
                          x = c(0.3, 1, -0.2, 0.5, 2)), 1))

## 6. survdiff with nothing to test: one group with expected events (df 0, p 1),
##    no events at all (df -1, p NA)
lr_row <- function(time, status, group) {
  s <- suppressWarnings(survdiff(Surv(time, status) ~ group))
  df <- sum(s$exp > 0) - 1  # survdiff's own df (print.survdiff)
  obj(time = num(time), status = num(status), group = chr(group), chisq = num(s$chisq),
      df = num(df), p = num(suppressWarnings(pchisq(s$chisq, df, lower.tail = FALSE))),
      pvalue = num(if (is.null(s$pvalue)) NA else s$pvalue), expected = num(s$exp))
}
lr <- c(lr_row(c(1, 2, 3, 4), c(0, 1, 1, 0), c("b", "a", "a", "a")),
        lr_row(c(3, 1, 4, 2), c(1, 0, 1, 0), c("a", "b", "a", "b")),
        lr_row(c(1, 2, 3, 4), c(0, 0, 0, 0), c("a", "b", "a", "b")),
        lr_row(c(1, 2, 3, 4, 5, 6), c(0, 0, 0, 0, 0, 0), c("a", "b", "c", "a", "b", "c")))

## 7. concordance with no comparable pair: C and var NaN, counts 0 (with and without
##    entry; with entry aftercar left a -7e-16 discordant count)
conc_row <- function(d, reverse) {
  y <- if (is.null(d$entry)) "Surv(time, status)" else "Surv(entry, time, status)"
  f <- as.formula(paste(y, "~ x", if (is.null(d$strata)) "" else "+ strata(strata)"))
  w <- if (is.null(d$weights)) rep(1, nrow(d)) else d$weights
  cc <- concordance(f, data = cbind(d, w = w), weights = w, reverse = reverse)
  cnt <- if (is.matrix(cc$count)) colSums(cc$count) else cc$count
  obj(time = num(d$time), status = num(d$status), x = num(d$x),
      entry = if (is.null(d$entry)) "null" else num(d$entry), weights = num(w),
      strata = if (is.null(d$strata)) "null" else num(d$strata), reverse = tolower(reverse),
      concordance = num(cc$concordance), var = num(cc$var), count = num(cnt[1:5]))
}
conc <- c(conc_row(data.frame(time = c(3.595, 16.148, 9.446, 0), status = c(1, 1, 0, 0),
                              entry = c(0, 15.148, 8.446, -0.5), x = c(20, 31, 46, 5),
                              weights = c(1.569, 1.075, 1.66, 1.48)), TRUE),
          conc_row(data.frame(time = c(1, 2, 3), status = c(0, 0, 1), x = c(1, 2, 3)), FALSE),
          conc_row(data.frame(time = c(1, 2, 3), status = c(0, 0, 0), x = c(1, 2, 3)), FALSE),
          conc_row(fz_conc_20, TRUE), conc_row(fz3_conc_046, FALSE))

## 8. cox.zph where R's solve stops ("computationally singular"): aftercar must refuse
zph_row <- function(d, ties) {
  xs <- grep("^x_", names(d), value = TRUE)
  args <- list(formula = as.formula(paste("Surv(entry, time, status) ~", paste(xs, collapse = "+"))),
               data = d, ties = ties)
  if (!is.null(d$weights)) args$weights <- d$weights
  if (!is.null(d$cluster)) args$cluster <- d$cluster
  fit <- do.call(coxph, args)
  x <- paste0("{", paste0('"', xs, '":', sapply(xs, function(v) num(d[[v]])), collapse = ","), "}")
  obj(entry = num(d$entry), time = num(d$time), status = num(d$status), x = x,
      weights = if (is.null(d$weights)) "null" else num(d$weights),
      cluster = if (is.null(d$cluster)) "null" else num(d$cluster), ties = str1(ties),
      coef = num(coef(fit)), loglik = num(fit$loglik), error = str1(err(cox.zph(fit))))
}
zph <- c(zph_row(fz_cox_08, "efron"), zph_row(fz_cox_22, "efron"), zph_row(fz_cox_23, "efron"))

writeLines(paste0('{"km_late_entry":[', paste(km_late, collapse = ",\n"), '],\n',
                  '"km_cluster_runs":[', paste(km_cl, collapse = ",\n"), '],\n',
                  '"km_exhausted_risk_set":[', paste(km_res, collapse = ",\n"), '],\n',
                  '"cif_exhausted_risk_set":[', paste(cif, collapse = ",\n"), '],\n',
                  '"gray_singular":[', paste(gray, collapse = ",\n"), '],\n',
                  '"finegray_lone_entrant":[', paste(fg, collapse = ",\n"), '],\n',
                  '"logrank_nothing_to_test":[', paste(lr, collapse = ",\n"), '],\n',
                  '"concordance_no_pairs":[', paste(conc, collapse = ",\n"), '],\n',
                  '"zph_singular":[', paste(zph, collapse = ",\n"), "]}"),
           "probe2_cases.json")
