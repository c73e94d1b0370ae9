# Golden values for aftercar.stats.wilcoxon_test / kruskal_test (R's stats package).
# Run: Rscript tests/stats/make_rank_cases.R > tests/stats/rank_cases.json
set.seed(20261201)
cases <- list()
add <- function(name, x, y = NULL, g = NULL) {
  if (is.null(g)) {
    t <- suppressWarnings(wilcox.test(x, y))
    cases[[length(cases) + 1]] <<- list(name = name, test = "wilcoxon", x = x, y = y,
      statistic = unname(t$statistic), p_value = t$p.value, method = t$method)
  } else {
    t <- kruskal.test(x, g)
    cases[[length(cases) + 1]] <<- list(name = name, test = "kruskal", x = x, g = g,
      statistic = unname(t$statistic), df = unname(t$parameter), p_value = t$p.value)
  }
}
add("exact small", c(1.1, 3.4, 2.2, 5.0), c(0.5, 0.7, 4.1))
add("exact 10 vs 12", round(rnorm(10), 4), round(rnorm(12, 0.8), 4))
add("exact 30 vs 40", round(rnorm(30), 5), round(rnorm(40, 0.3), 5))
add("exact 49 vs 49", round(rnorm(49), 6), round(rnorm(49, 0.2), 6))
add("exact extreme", 1:8 + 0.5, 9:20 + 0.5)
add("ties normal approx", c(1, 2, 2, 3, 3, 3, 4), c(2, 3, 4, 4, 5, 5))
add("ages with ties", round(rnorm(40, 62, 8)), round(rnorm(35, 66, 9)))
add("large no ties", rnorm(60), rnorm(70, 0.4))
add("kruskal 3 groups ties", c(round(rnorm(15, 60, 8)), round(rnorm(12, 64, 8)), round(rnorm(9, 58, 8))),
    g = rep(c("a", "b", "c"), c(15, 12, 9)))
add("kruskal 2 groups", c(1.5, 2.5, 3.5, 8, 9), g = c("x", "x", "y", "y", "y"))
add("kruskal 4 groups", round(rexp(40) * 10, 1), g = rep(c("p", "q", "r", "s"), 10))
to_json <- function(v) {
  if (is.null(v)) return("null")
  if (is.character(v) && length(v) == 1 && !is.null(names(v)) == FALSE) return(paste0('"', v, '"'))
  if (is.character(v)) return(paste0("[", paste0('"', v, '"', collapse = ","), "]"))
  paste0("[", paste(formatC(v, digits = 17, format = "g"), collapse = ","), "]")
}
out <- sapply(cases, function(c) {
  fields <- sapply(names(c), function(k) {
    v <- c[[k]]
    val <- if (k %in% c("name", "test", "method")) paste0('"', v, '"')
           else if (k %in% c("x", "y", "g")) to_json(v)
           else formatC(v, digits = 17, format = "g")
    paste0('"', k, '": ', val)
  })
  paste0("{", paste(fields, collapse = ", "), "}")
})
cat("[\n", paste(out, collapse = ",\n"), "\n]\n")
