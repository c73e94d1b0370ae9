"""Median follow-up by the reverse Kaplan-Meier method.

The reverse Kaplan-Meier estimator treats censoring as the event and the study
event (e.g. death) as censoring, so it estimates the distribution of potential
follow-up time: how long patients would have been followed had the event not
occurred. Its median is the recommended summary of follow-up (Schemper & Smith
1996); the median of observed times understates follow-up when events are
early. Computed with :func:`aftercar.stats.kaplan_meier` on ``1 - event``, i.e.
R ``survfit(Surv(time, 1 - event) ~ 1)``.
"""

from __future__ import annotations

from aftercar.stats import _inputs
from aftercar.stats.km import QuantileEstimate, kaplan_meier


def median_followup(
    time, event, *, conf_type: str = "log-log", conf_level: float = 0.95
) -> QuantileEstimate:
    """Median potential follow-up (reverse Kaplan-Meier) with confidence limits.

    Parameters
    ----------
    time
        Follow-up time of each patient (e.g. months from the index date,
        months = days / 30.4375).
    event
        1/True if the event (e.g. death) was observed, 0/False if censored.
    conf_type, conf_level
        Interval type and level, as in :func:`aftercar.stats.kaplan_meier`.

    Returns
    -------
    QuantileEstimate
        ``(estimate, lower, upper)``; ``None`` where not estimable (e.g. fewer
        than half of the patients were censored by the end of follow-up).

    Examples
    --------
    >>> median_followup([2, 5, 7, 9, 12, 14], [1, 0, 1, 0, 0, 1])
    QuantileEstimate(estimate=12.0, lower=5.0, upper=None)

    References
    ----------
    Schemper M, Smith TL. A note on quantifying follow-up in studies of failure
    time. Control Clin Trials 1996;17:343-346.
    """
    t = _inputs.as_float(time, "time")
    e = _inputs.as_event(event, n=t.size)
    fit = kaplan_meier(t, ~e, conf_type=conf_type, conf_level=conf_level)
    return fit.median()
