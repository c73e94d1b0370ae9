# Reference values for the statistics added in issue 15: clustered KM, G-rho log-rank,
# RMST and Aalen-Johansen cumulative incidence, from R survival 3.5-3.
# Usage (from this folder): Rscript make_new_cases.R -> data/*.csv and new_cases.json
# Made with R 4.2.2, survival 3.5-3. Data: R survival's own data sets (veteran, aml,
# heart, mgus2), written to data/ as used; a delayed-entry variant of mgus2 is made
# here with a fixed seed.
suppressMessages(library(survival))
num <- function(x) paste0("[", paste(ifelse(is.finite(x), formatC(as.numeric(x), digits = 17, format = "g"), "null"), collapse = ","), "]")
obj <- function(x) paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}")
arr <- function(x) paste0("[", paste(x, collapse = ",\n"), "]")

vet <- veteran[, c("time", "status", "trt", "celltype", "karno", "age")]
vet$id <- seq_len(nrow(vet)); vet$cl <- (vet$id - 1) %/% 3
write.csv(vet, "data/veteran.csv", row.names = FALSE)
am <- aml; am$x <- as.character(am$x); am$id <- seq_len(nrow(am)); am$cl <- (am$id - 1) %/% 2
write.csv(am, "data/aml.csv", row.names = FALSE)
hr <- heart[, c("start", "stop", "event", "transplant", "id")]
write.csv(hr, "data/heart.csv", row.names = FALSE)
mg <- mgus2
mg$etime <- ifelse(mg$pstat == 0, mg$futime, mg$ptime)
mg$cause <- ifelse(mg$pstat == 0, 2 * mg$death, 1)
set.seed(151)
mg$entry <- ifelse(runif(nrow(mg)) < 0.3, floor(mg$etime * runif(nrow(mg))), 0)
mg$entry <- pmin(mg$entry, mg$etime - 1)
mg$w <- round(runif(nrow(mg), 0.3, 2), 2)
mg <- mg[mg$etime > 0, c("id", "sex", "etime", "cause", "entry", "w")]
write.csv(mg, "data/mgus2.csv", row.names = FALSE)

# clustered KM: survfit(id=, robust=TRUE)
kmc <- function(name, f) {
  s <- summary(f, censored = TRUE)
  obj(list(name = paste0('"', name, '"'), time = num(s$time), n_risk = num(s$n.risk), surv = num(s$surv),
           std_err = num(s$std.err), lower = num(s$lower), upper = num(s$upper)))
}
km_cluster <- arr(c(
  kmc("veteran", survfit(Surv(time, status) ~ 1, data = vet, id = cl, robust = TRUE, conf.type = "log-log")),
  kmc("aml", survfit(Surv(time, status) ~ 1, data = am, id = cl, robust = TRUE, conf.type = "log-log")),
  kmc("heart", survfit(Surv(start, stop, event) ~ 1, data = hr, id = id, robust = TRUE, conf.type = "log-log"))))

# G-rho log-rank: survdiff(rho=)
lrr <- function(name, f, rho) obj(list(name = paste0('"', name, '"'), rho = num(rho), chisq = num(f$chisq),
                                       observed = num(f$obs), expected = num(f$exp),
                                       p = num(pchisq(f$chisq, length(f$n) - 1, lower.tail = FALSE))))
lr_rho <- arr(c(
  lrr("veteran", survdiff(Surv(time, status) ~ trt, data = vet, rho = 1), 1),
  lrr("veteran", survdiff(Surv(time, status) ~ celltype, data = vet, rho = 0.5), 0.5),
  lrr("aml", survdiff(Surv(time, status) ~ x, data = am, rho = 1), 1),
  lrr("mgus2", survdiff(Surv(etime, cause > 0) ~ sex, data = mg, rho = 2), 2)))
lr_rho_strat <- lrr("veteran_strata", survdiff(Surv(time, status) ~ trt + strata(celltype), data = vet, rho = 1), 1)

# RMST: print(survfit, rmean = tau)
rm1 <- function(name, f, tau) {
  tab <- summary(f, rmean = tau)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  obj(list(name = paste0('"', name, '"'), tau = num(tau), rmean = num(tab[, "rmean"]), se = num(tab[, "se(rmean)"])))
}
rmst <- arr(c(
  rm1("veteran", survfit(Surv(time, status) ~ 1, data = vet), 200),
  rm1("veteran_by_trt", survfit(Surv(time, status) ~ trt, data = vet), 365),
  rm1("aml_by_x", survfit(Surv(time, status) ~ x, data = am), 40),
  rm1("mgus2_entry", survfit(Surv(entry, etime, cause > 0) ~ 1, data = mg), 240),
  rm1("mgus2_entry_by_sex", survfit(Surv(entry, etime, cause > 0) ~ sex, data = mg), 300)))

# Aalen-Johansen cumulative incidence: survfit(Surv(t, factor(status)) ~ g)
cif <- function(name, f) {
  s <- summary(f, censored = TRUE)
  st <- if (is.null(s$strata)) rep("", length(s$time)) else as.character(s$strata)
  obj(list(name = paste0('"', name, '"'), strata = paste0("[", paste0('"', st, '"', collapse = ","), "]"),
           time = num(s$time), states = paste0("[", paste0('"', f$states, '"', collapse = ","), "]"),
           pstate = num(s$pstate), std_err = num(s$std.err), lower = num(s$lower), upper = num(s$upper),
           n_risk = num(s$n.risk[, 1])))
}
mg$ev <- factor(mg$cause, 0:2, c("censor", "pcm", "death"))
vet$ev <- factor(ifelse(vet$status == 0, 0, ifelse(vet$celltype %in% c("squamous", "large"), 1, 2)), 0:2)
cuminc <- arr(c(
  cif("mgus2", survfit(Surv(etime, ev) ~ 1, data = mg)),
  cif("mgus2_by_sex", survfit(Surv(etime, ev) ~ sex, data = mg)),
  cif("mgus2_entry", survfit(Surv(entry, etime, ev) ~ 1, data = mg, id = id)),
  cif("mgus2_weights", survfit(Surv(etime, ev) ~ 1, data = mg, weights = w)),
  cif("veteran_by_trt", survfit(Surv(time, ev) ~ trt, data = vet))))

writeLines(paste0("{", '"km_cluster":', km_cluster, ",\n", '"logrank_rho":', lr_rho, ",\n",
                  '"logrank_rho_strata":', lr_rho_strat, ",\n", '"rmst":', rmst, ",\n",
                  '"cuminc":', cuminc, "}"), "new_cases.json")
