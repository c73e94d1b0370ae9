"""Table 1 in publication form: one row per characteristic level, a column per group.

Columns: ``characteristic``, ``level``, ``Overall (N=..)``, one ``<group> (N=..)``
column per level of the grouping variable (``--by`` or ``[analysis] table1_by``:
e.g. site, relapse timing, CAR-T product), then ``p_value`` and ``test``.
Continuous characteristics show median (IQR) and range; categorical ones n (%) of
the patients with the value known, levels in clinical order (IMWG order for
responses, Yes before No, numbers in numeric order, other text alphabetically);
a ``Missing`` row appears only when a value is missing.

Tests across groups (as gtsummary's ``add_p``): continuous, the Wilcoxon rank-sum
test for two groups and Kruskal-Wallis for more (R ``wilcox.test``,
``kruskal.test``); categorical, Pearson's chi-square (R ``chisq.test(correct =
FALSE)``), or Fisher's exact test (R ``fisher.test``) when an expected count is
below 5 and the table has two rows or two columns (the exact enumeration of larger
sparse tables can take minutes; their chi-square p-value is marked approximate). Patients whose
group is missing are in the Overall column only (a note says how many).

References
----------
Sjoberg DD, et al. Reproducible summary tables with the gtsummary package. R J
2021;13:570-580.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.descriptive import TABLE1_ROWS, level_labels, relapse_timing
from aftercar.analysis.summaries import num
from aftercar.errors import AftercarError, InputError
from aftercar.schema import Col, response_codes

#: Grouping variables offered for Table 1 besides the patient columns.
DERIVED_GROUPS = {"relapse_timing": "Relapse timing"}

_YES_NO = {"Yes": 0, "No": 1}

#: Expected cell count below which a categorical comparison uses Fisher's exact test.
SPARSE_EXPECTED = 5.0


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _level_text(values: pd.Series) -> pd.Series:
    """Level labels as :func:`level_labels` gives them, numbers without trailing zeros."""
    known = values.dropna()
    if pd.api.types.is_numeric_dtype(known.dtype) and not pd.api.types.is_bool_dtype(known.dtype):
        return known.map(lambda v: f"{v:g}")
    return level_labels(values)


def clinical_order(levels: list[str]) -> list[str]:
    """Levels in clinical order: IMWG responses, Yes/No, numbers, then text."""
    rank = {code: i for i, code in enumerate(response_codes())}

    def key(level: str) -> tuple:
        if level in rank:
            return (0, rank[level], "")
        if level in _YES_NO:
            return (1, _YES_NO[level], "")
        try:
            return (2, float(level), "")
        except ValueError:
            return (3, 0, level)

    return sorted(levels, key=key)


_order = clinical_order  # the former private name


def _continuous_cells(x: np.ndarray) -> tuple[str, str]:
    if len(x) == 0:
        return "NA", "NA"
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return f"{_fmt(med)} ({_fmt(q1)}-{_fmt(q3)})", f"{_fmt(x.min())}-{_fmt(x.max())}"


def _p_continuous(values: pd.Series, group: pd.Series) -> tuple[float | None, str]:
    ok = values.notna() & group.notna()
    v, g = pd.to_numeric(values[ok], errors="coerce"), group[ok]
    levels = sorted(g.unique())
    if len(levels) < 2 or v.nunique() < 2:
        return None, ""
    if len(levels) == 2:
        res = stats.wilcoxon_test(v[g == levels[0]], v[g == levels[1]])
        return num(res.p_value), "Wilcoxon rank-sum test"
    return num(stats.kruskal_test(v, g).p_value), "Kruskal-Wallis test"


def _p_categorical(text: pd.Series, group: pd.Series) -> tuple[float | None, str]:
    """Pearson's chi-square, or Fisher's exact test when an expected count is below 5
    (gtsummary's rule) and the table has two rows or two columns; a larger sparse
    table keeps the chi-square test, named as approximate, and so does a table too large
    for the exact enumeration (:func:`aftercar.stats.fisher_test` refuses it), whose
    name says so."""
    ok = text.notna() & group.notna()
    counts = pd.crosstab(text[ok], group[ok]).to_numpy()
    if min(counts.shape, default=0) < 2:
        return None, ""
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / counts.sum()
    sparse = bool((expected < SPARSE_EXPECTED).any())
    note = " (expected counts < 5)" if sparse else ""
    if sparse and min(counts.shape) == 2:
        try:
            return num(stats.fisher_test(counts).p_value), "Fisher's exact test"
        except AftercarError:  # the exact enumeration is infeasible: said in the name
            note = " (expected counts < 5; too many patients for Fisher's exact test)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small expected counts: the test name says so
        res = stats.chisq_test(counts, correct=False)
    return num(res.p_value), "Pearson's chi-square test" + note


def unknown_grouping(by: str | None, columns, where: str = "") -> str | None:
    """The message for a Table 1 grouping ``by`` that is neither a derived group nor one of
    the patient ``columns`` (``where``: how it was given, e.g. the study TOML's key), else
    ``None``. The pipeline asks it right after reading, before the analyses."""
    if not by or by in DERIVED_GROUPS or by in columns:
        return None
    known = sorted({*DERIVED_GROUPS, Col.SITE, Col.CAR_T_PRODUCT, Col.SEX}
                   & {*DERIVED_GROUPS, *columns})  # fmt: skip
    return (f"Table 1 by {by!r}{f' ({where})' if where else ''}: no such patient column. "
            f"Fix: use one of {', '.join(known)} or another column of the patients table.")


def _groups(patients: pd.DataFrame, by: str | None, cutoff: float) -> pd.Series | None:
    if not by:
        return None
    if by in DERIVED_GROUPS:
        return relapse_timing(patients, cutoff)
    if (unknown := unknown_grouping(by, patients.columns)) is not None:
        raise InputError(unknown)
    group = _level_text(patients[by]).reindex(patients.index)
    why = identifying_groups(by, group)
    if why is not None:
        raise InputError(
            f"Table 1 by {by!r}: {why}, so each column would show one patient (and the "
            "group labels would print their values in every shared output). Fix: group by a "
            "characteristic with a few levels (site, sex, product, relapse timing), or bin "
            "the column first."
        )
    return group


def identifying_groups(name: str, values: pd.Series) -> str | None:
    """Why grouping by ``values`` (column ``name``) would identify patients, else ``None``:
    the patient id, a date, or five or more levels most of which hold one patient
    (fuzzing round 6, I02: ``--by patient_id`` printed every id, ``--by car_t_date``
    every infusion date, in the report, results.json and Word tables)."""
    counts = values.dropna().value_counts()
    levels, single = len(counts), int((counts == 1).sum())
    if name == Col.PATIENT_ID:
        return "that is the patient id"
    if name.endswith("_date"):
        return "that is a date"
    if levels >= 5 and single > levels / 2:
        return f"most of its {levels} levels hold one patient each"
    return None


def _columns(group: pd.Series | None, n: int) -> list[tuple[str, np.ndarray]]:
    """(header, row mask) of the Overall column and each group column."""
    cols = [(f"Overall (N={n})", np.ones(n, dtype=bool))]
    if group is not None:
        for level in _order([str(v) for v in group.dropna().unique()]):
            mask = (group == level).to_numpy()
            cols.append((f"{level} (N={int(mask.sum())})", mask))
    return cols


def _rows_for(values, label, kind, cols, group) -> list[dict[str, Any]]:
    missing = values.isna().to_numpy()
    if kind == "continuous":
        x = pd.to_numeric(values.astype("Float64"), errors="coerce").to_numpy(float)
        cells = {h: _continuous_cells(x[mask & ~missing]) for h, mask in cols}
        rows = [
            {"characteristic": label, "level": name, **{h: c[i] for h, c in cells.items()}}
            for i, name in enumerate(("Median (IQR)", "Range"))
        ]
        p, test = _p_continuous(values, group) if group is not None else (None, "")
    else:
        text = _level_text(values).reindex(values.index)
        rows = []
        for level in _order([str(v) for v in text.dropna().unique()]):
            row = {"characteristic": label, "level": level}
            for header, mask in cols:
                known = int((mask & ~missing).sum())
                k = int(((text == level).to_numpy() & mask).sum())
                row[header] = f"{k} ({100 * k / known:.1f}%)" if known else "0"
            rows.append(row)
        p, test = _p_categorical(text, group) if group is not None else (None, "")
    if missing.any():
        counts = {h: str(int((mask & missing).sum())) for h, mask in cols}
        rows.append({"characteristic": label, "level": "Missing", **counts})
    for row in rows:
        row["p_value"], row["test"] = None, ""
    if rows and group is not None:
        rows[0]["p_value"], rows[0]["test"] = p, test
    return rows


def table1_wide(
    patients: pd.DataFrame, *, cutoff: float, by: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return Table 1 in wide form and its JSON block (see the module docstring).

    Parameters
    ----------
    patients
        Table ``patient_endpoints``.
    cutoff
        Early-relapse cut-off in months (for the relapse-timing row and grouping).
    by
        Grouping variable (a patient column or ``"relapse_timing"``); ``None`` for
        the Overall column only.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table, and ``{by, groups: [{group, n}], missing_group, rows}``.
    """
    pts = patients.assign(relapse_timing=relapse_timing(patients, cutoff))
    group = _groups(pts, by, cutoff)
    cols = _columns(group, len(pts))
    sizes = {h: str(int(m.sum())) for h, m in cols}
    rows = [{"characteristic": "Patients", "level": "", **sizes, "p_value": None, "test": ""}]
    for column, label, kind in TABLE1_ROWS:
        values = pts[column] if column in pts.columns else pd.Series(pd.NA, index=pts.index)
        if values.isna().all() or column == by:
            continue
        rows += _rows_for(values, label, kind, cols, group)
    table = pd.DataFrame(rows)
    block = {
        "by": by,
        "groups": [{"group": h, "n": int(m.sum())} for h, m in cols],
        "missing_group": None if group is None else int(group.isna().sum()),
        "rows": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
    }
    if group is None:  # nothing is compared: no test columns in the shown table
        table = table.drop(columns=["p_value", "test"])
    return table, block
