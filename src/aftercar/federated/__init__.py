"""aftercar.federated: exact pooled analyses of several sites from their aggregates.

A site runs :func:`site_summary` (``aftercar site-summary``) on its own derived
cohort and shares only aggregates; the coordinator pools the site files
(:func:`pool_sites`, ``aftercar pool``) into the study report, stratified by
site. Kaplan-Meier, the stratified log-rank test, response proportions and Cox
models stratified by site are equal to the analysis of the concatenated patient
rows (see ``docs/federated.md``). Two further rounds answer from the site's rows
at the pooled coefficients: the patient-clustered variance of the line-level Cox
models (:mod:`aftercar.federated.robust`) and the proportional-hazards test of a
Newton-round Cox model (:mod:`aftercar.federated.zph`).
"""

from aftercar.federated.summary import site_summary, summarise_cohort

__all__ = ["site_summary", "summarise_cohort"]
