# Reference Cox fits from R survival for tests/stats/test_cox.py.
# Usage: Rscript make_cox_cases.R OUTFILE   (writes cox_cases.json; run from anywhere)
# Each case embeds the exact rows it was fitted on, so the tests never need R.
suppressMessages(library(survival))
args <- commandArgs(TRUE); out <- if (length(args)) args[1] else "cox_cases.json"
jnum <- function(x) paste0("[", paste(ifelse(is.na(x), "null", formatC(as.numeric(x), digits=17, format="g")), collapse=","), "]")
jstr <- function(x) paste0("[", paste0('"', x, '"', collapse=","), "]")
jval <- function(x) if (is.null(x)) "null" else jnum(x)

run_case <- function(name, d, covs, time, event, start=NULL, strata=NULL, cluster=NULL,
                     weights=NULL, ties="efron") {
  X <- as.matrix(d[, covs, drop=FALSE])
  S <- if (is.null(start)) Surv(d[[time]], d[[event]]) else Surv(d[[start]], d[[time]], d[[event]])
  rhs <- "X"
  if (!is.null(strata)) { st <- d[[strata]]; rhs <- paste(rhs, "+ strata(st)") }
  if (!is.null(cluster)) { cl <- d[[cluster]]; rhs <- paste(rhs, "+ cluster(cl)") }
  w <- if (is.null(weights)) NULL else d[[weights]]
  fml <- as.formula(paste("S ~", rhs))
  m <- suppressWarnings(coxph(fml, ties=ties, weights=w))
  warn <- tryCatch({coxph(fml, ties=ties, weights=w); ""}, warning=function(e) conditionMessage(e))
  cols <- unique(c(time, event, start, strata, cluster, weights, covs))
  data <- paste(sprintf('"%s":%s', cols, sapply(cols, function(c) jnum(d[[c]]))), collapse=",")
  naive <- if (is.null(m$naive.var)) m$var else m$naive.var
  sprintf(paste0('{"name":"%s","ties":"%s","time":"%s","event":"%s","entry":%s,"strata":%s,',
                 '"cluster":%s,"weights":%s,"covariates":%s,"data":{%s},"coef":%s,"se":%s,',
                 '"robust_se":%s,"loglik":%s,"score_test":%s,"wald_test":%s,"robust_score_test":%s,',
                 '"lr_test":%s,"iter":%d,"n":%d,"nevent":%d,"warning":"%s"}'),
    name, ties, time, event,
    if (is.null(start)) "null" else paste0('"', start, '"'),
    if (is.null(strata)) "null" else paste0('"', strata, '"'),
    if (is.null(cluster)) "null" else paste0('"', cluster, '"'),
    if (is.null(weights)) "null" else paste0('"', weights, '"'),
    jstr(covs), data, jnum(unname(coef(m))), jnum(sqrt(diag(naive))),
    if (is.null(m$naive.var)) "null" else jnum(sqrt(diag(m$var))),
    jnum(m$loglik), jnum(m$score), jnum(m$wald.test), jval(m$rscore),
    jnum(2 * diff(m$loglik)), m$iter, m$n, m$nevent, gsub('"', "'", warn))
}

cases <- c()
add <- function(...) for (ties in c("efron", "breslow")) cases <<- c(cases, run_case(..., ties=ties))

# lung: status 0/1, complete ph.ecog; synthetic id every 3 rows (as make_golden.R)
lung2 <- lung; lung2$status <- lung2$status - 1
lung2 <- lung2[complete.cases(lung2[, c("time", "status", "sex", "age", "ph.ecog")]), ]
lung2$id <- rep(seq_len(ceiling(nrow(lung2) / 3)), each=3)[seq_len(nrow(lung2))]
lung2$inst[is.na(lung2$inst)] <- 0
lung2$wt <- ((seq_len(nrow(lung2)) %% 5) + 1) / 2          # case weights 0.5 .. 2.5
lung2$entry <- floor(lung2$time * ((seq_len(nrow(lung2)) %% 4) / 8))   # delayed entry, ties with stops
# veteran: id every 2 rows (as make_golden.R)
vet <- veteran; vet$id <- seq_len(nrow(vet)) %/% 2
vet$ct <- as.integer(factor(vet$celltype))

add("strata_veteran", vet, c("trt", "karno", "age"), "time", "status", strata="celltype")
add("strata_cluster_veteran", vet, c("trt", "karno", "age"), "time", "status", strata="celltype", cluster="id")
add("weights_lung", lung2, c("sex", "age", "ph.ecog"), "time", "status", weights="wt")
add("weights_cluster_lung", lung2, c("sex", "age", "ph.ecog"), "time", "status", weights="wt", cluster="id")
add("entry_lung", lung2, c("sex", "age", "ph.ecog"), "time", "status", start="entry")
add("entry_strata_cluster_weights_lung", lung2, c("sex", "age", "ph.ecog"), "time", "status",
    start="entry", strata="inst", cluster="id", weights="wt")

# counting process with a time-varying covariate: split veteran at 30/90/180 days;
# karno_late = karno after day 90 (a karno effect that changes over time)
vs <- survSplit(Surv(time, status) ~ ., data=vet, cut=c(30, 90, 180), episode="ep")
vs$karno_late <- vs$karno * (vs$tstart >= 90)
add("tvc_veteran", vs, c("trt", "karno", "karno_late", "age"), "time", "status", start="tstart", cluster="id")
add("tvc_strata_veteran", vs, c("trt", "karno", "karno_late", "age"), "time", "status", start="tstart", strata="ct")

# heavy ties: lung time in 100-day bins
lung3 <- lung2; lung3$tbin <- ceiling(lung3$time / 100)
add("heavy_ties_lung", lung3, c("sex", "age", "ph.ecog"), "tbin", "status", cluster="id")

# collinear design: R reports NA for the redundant column
lung2$age2 <- 2 * lung2$age + 1
add("singular_lung", lung2, c("sex", "age", "age2"), "time", "status")

# hand-worked micro data with ties (see test_cox.py for the closed form at beta = 0)
micro <- data.frame(time=c(1, 1, 2, 2, 2, 3, 4, 4), status=c(1, 1, 1, 1, 0, 1, 0, 1),
                    x=c(1, 0, 1, 1, 0, 0, 1, 0), id=c(1, 1, 2, 2, 3, 3, 4, 4))
add("micro_ties", micro, "x", "time", "status")
add("micro_ties_cluster", micro, "x", "time", "status", cluster="id")

# monotone likelihood: x = 1 fails first at every event time -> R's loglik converges
# at iteration 20 with "coefficient may be infinite"
mono <- data.frame(time=1:6, status=rep(1, 6), x=c(1, 1, 1, 0, 0, 0))
add("monotone", mono, "x", "time", "status")
# with a second covariate R runs out of iterations ("did not converge")
nconv <- data.frame(time=1:8, status=c(1, 1, 1, 0, 1, 0, 0, 0), x=c(1, 1, 1, 0, 1, 0, 0, 0),
                    z=c(0.3, -1.2, 0.8, 0.1, -0.4, 1.5, -0.7, 0.2))
add("no_convergence", nconv, c("x", "z"), "time", "status")

# near-equal times (R's timefix / aeqSurv treats them as tied): 1/3*3 vs 1, etc.
tf <- data.frame(time=c(1, (1/3)*3, 0.1+0.2, 0.3, 2, 2 + 1e-12, 5, 6), status=c(1, 1, 1, 1, 1, 0, 1, 1),
                 x=c(0.5, 1.2, -0.3, 2.0, 0.7, -1.1, 0.4, 1.6))
add("timefix", tf, "x", "time", "status")

cat('{"r_survival_version":"', as.character(packageVersion("survival")), '","cases":[',
    paste(cases, collapse=",\n"), "]}\n", file=out, sep="")
