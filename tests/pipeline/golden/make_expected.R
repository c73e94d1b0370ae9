# Independent R survival reference for the pipeline on a frozen copy of the demo cohort.
# Run from this folder:  Rscript make_expected.R   (writes expected.csv)
# Inputs: patients.csv, lines.csv (frozen copy of aftercar's synthetic demo cohort) and
# regimen_tce.csv (regimen text -> T-cell-engaging flag, from aftercar.vocab).
# Endpoints are derived here with base R, following docs/methods.md; the
# time-varying TCE exposure is built with survival::tmerge.
suppressPackageStartupMessages(library(survival))
options(digits = 15)
M <- 30.4375
p <- read.csv("patients.csv", stringsAsFactors = FALSE, na.strings = "")
l <- read.csv("lines.csv", stringsAsFactors = FALSE, na.strings = "")
tce_map <- read.csv("regimen_tce.csv", stringsAsFactors = FALSE)
d <- function(x) as.numeric(as.Date(x))

p$index <- d(p$progression_date)
p$status <- as.integer(!is.na(p$death_date))
p$end <- ifelse(p$status == 1, d(p$death_date), d(p$last_followup_date))
p$os <- (p$end - p$index) / M
out <- list()
put <- function(key, value) out[[key]] <<- value

fit <- survfit(Surv(os, status) ~ 1, data = p, conf.type = "log-log")
q <- quantile(fit, 0.5)
put("os.n", nrow(p)); put("os.events", sum(p$status))
put("os.median", q$quantile); put("os.lower", q$lower); put("os.upper", q$upper)
s <- summary(fit, times = c(6, 12, 24))
for (i in seq_along(s$time)) {
  put(sprintf("os.rate%g.surv", s$time[i]), s$surv[i])
  put(sprintf("os.rate%g.lower", s$time[i]), s$lower[i])
  put(sprintf("os.rate%g.upper", s$time[i]), s$upper[i])
}
rev <- survfit(Surv(os, 1 - status) ~ 1, data = p)
put("followup.median", quantile(rev, 0.5)$quantile)

# per-line PFS: progression -> event; else next line start -> censored; else death -> event;
# else censored at last follow-up
l <- l[order(l$patient_id, l$line), ]
l$next_start <- ave(d(l$start_date), l$patient_id, FUN = function(x) c(x[-1], NA))
m <- merge(l, p[, c("patient_id", "index", "status", "end")], by = "patient_id")
m <- m[order(m$patient_id, m$line), ]
prog <- d(m$progression_date)
has_prog <- !is.na(prog)
has_next <- !is.na(m$next_start)
pfs_end <- ifelse(has_prog, prog, ifelse(has_next, m$next_start, m$end))
pfs_event <- as.integer(has_prog | (!has_next & m$status == 1))
m$pfs <- (pfs_end - d(m$start_date)) / M
m$pfs_event <- pfs_event
first <- m[m$line == 1, ]
ff <- survfit(Surv(pfs, pfs_event) ~ 1, data = first, conf.type = "log-log")
fq <- quantile(ff, 0.5)
put("pfs1.n", nrow(first)); put("pfs1.events", sum(first$pfs_event))
put("pfs1.median", fq$quantile); put("pfs1.lower", fq$lower); put("pfs1.upper", fq$upper)
resp <- first$best_response
ev <- !is.na(resp) & resp != "NE"
put("orr1.responders", sum(resp[ev] %in% c("sCR", "CR", "VGPR", "PR")))
put("orr1.n", sum(ev))
bt <- binom.test(sum(resp[ev] %in% c("sCR", "CR", "VGPR", "PR")), sum(ev))
put("orr1.lower", bt$conf.int[1]); put("orr1.upper", bt$conf.int[2])

# time-varying TCE exposure (tmerge) and the clustered time-dependent Cox model
m$tce <- tce_map$tce[match(m$regimen, tce_map$regimen)] %in% c("True", "TRUE", "true")
m$start_months <- (d(m$start_date) - m$index) / M
first_tce <- tapply(m$start_months[m$tce], m$patient_id[m$tce], min)
p$tce_t <- as.numeric(first_tce[p$patient_id])
p$id <- seq_len(nrow(p))
base <- tmerge(p[, c("id", "patient_id")], p, id = id, death = event(os, status))
has <- !is.na(p$tce_t)
td <- tmerge(base, p[has, ], id = id, tce = tdc(tce_t))
td$tce[is.na(td$tce)] <- 0
cx <- coxph(Surv(tstart, tstop, death) ~ tce, data = td, cluster = id, ties = "efron")
put("td.rows", nrow(td)); put("td.coef", unname(coef(cx)))
put("td.se", sqrt(cx$naive.var[1, 1])); put("td.robust_se", sqrt(cx$var[1, 1]))
put("tce.patients", sum(has))

# landmark at 3 months
lm <- p[p$os > 3, ]
lm$time <- lm$os - 3
lm$tce_by <- as.integer(!is.na(lm$tce_t) & lm$tce_t <= 3)
lc <- coxph(Surv(time, status) ~ tce_by, data = lm, ties = "efron")
put("lm3.patients", nrow(lm)); put("lm3.tce_patients", sum(lm$tce_by))
put("lm3.coef", unname(coef(lc))); put("lm3.se", sqrt(lc$var[1, 1]))
lr <- survdiff(Surv(time, status) ~ tce_by, data = lm)
put("lm3.logrank_chisq", lr$chisq)

# baseline Cox model of OS (complete cases)
p$early_relapse <- as.integer((p$index - d(p$car_t_date)) / M < 6)
tf <- function(x) as.integer(toupper(as.character(x)) %in% c("TRUE", "YES", "1"))
for (v in c("extramedullary_disease", "high_risk_cytogenetics", "triple_class_refractory",
            "penta_refractory")) p[[v]] <- tf(p[[v]])
bc <- coxph(Surv(os, status) ~ early_relapse + extramedullary_disease + high_risk_cytogenetics +
              age_at_cart + prior_lines + triple_class_refractory + penta_refractory +
              iss_stage + ecog, data = p, ties = "efron")
for (nm in names(coef(bc))) {
  put(sprintf("cox.%s.coef", nm), unname(coef(bc)[nm]))
  put(sprintf("cox.%s.se", nm), sqrt(bc$var[which(names(coef(bc)) == nm), which(names(coef(bc)) == nm)]))
}
put("cox.n", bc$n)

# issue 15 in the report: RMST of OS, competing risks of line 1, cox.zph, landmark RMST
for (tau in c(12, 24)) {
  t <- summary(fit, rmean = tau)$table
  put(sprintf("os.rmst%g", tau), unname(t["rmean"])); put(sprintf("os.rmst%g.se", tau), unname(t["se(rmean)"]))
}
cr_status <- ifelse(first$pfs_event == 1, ifelse(!is.na(d(first$progression_date)), 1, 2), 0)
cif <- survfit(Surv(first$pfs, factor(cr_status, 0:2)) ~ 1)
cs <- summary(cif, times = c(6, 12, 24), extend = TRUE)
for (i in seq_along(cs$time)) {
  put(sprintf("cif.prog%g", cs$time[i]), cs$pstate[i, 2])
  put(sprintf("cif.death%g", cs$time[i]), cs$pstate[i, 3])
}
put("td.zph.p", cox.zph(cx)$table["GLOBAL", "p"])
put("cox.zph.p", cox.zph(bc)$table["GLOBAL", "p"])
lg <- factor(ifelse(lm$tce_by == 1, "TCE by 3 mo", "No TCE by 3 mo"))
for (tau in c(12, 24)) {
  t <- summary(survfit(Surv(time, status) ~ lg, data = lm), rmean = tau)$table
  put(sprintf("lm3.rmst%g.no", tau), unname(t[1, "rmean"]))
  put(sprintf("lm3.rmst%g.tce", tau), unname(t[2, "rmean"]))
}

res <- data.frame(key = names(out), value = vapply(out, function(x) if (is.na(x)) NA_real_ else as.numeric(x), 0))
write.csv(format(res, digits = 15), "expected.csv", row.names = FALSE, quote = FALSE)
cat("R", R.version.string, "survival", as.character(packageVersion("survival")), "\n")
