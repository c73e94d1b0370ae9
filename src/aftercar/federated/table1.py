"""Table 1 of the pooled study: an Overall column and one column per site.

Categorical characteristics are summed level by level (n (%) of the patients
with the value known, as :func:`aftercar.analysis.table1.table1_wide`); a
continuous one shows each site's own median (IQR) and, Overall, the median (IQR)
of the pooled quantile sketches (exact for values on the sketch's resolution, e.g.
age to 0.1 year; bins merged under disclosure control make it approximate). The
range is shown only without disclosure control (a minimum or maximum is one
patient's value). A count a site withheld (1 to K-1, or withheld beside one so
that it cannot be recovered by subtraction) shows as ``withheld``, and so does
the Overall of a level a site withheld; a site's number of patients withheld
shows as ``<K``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar.analysis.descriptive import TABLE1_ROWS
from aftercar.analysis.table1 import clinical_order
from aftercar.federated import aggregate as agg
from aftercar.schema import Col

#: How a cell a site withheld is shown (it may be any value, not only 1 to K-1).
WITHHELD = "withheld"


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _row(label: str, level: str, heads: list[str], cells: list[str]) -> dict[str, str]:
    return {"characteristic": label, "level": level, **dict(zip(heads, cells, strict=True))}


def _categorical(label: str, rows: list[dict | None], heads: list[str], k) -> list[dict]:
    levels: list[str] = []
    for r in rows:
        levels += [lv for lv in (r or {}).get("levels", {}) if lv not in levels]
    out = []
    for level in clinical_order(levels):
        # a site of 1 to K-1 patients withholds the row whole (no level names either)
        counts = [None if (r or {}).get("withheld") else (r or {}).get("levels", {}).get(level, 0)
                  for r in rows]  # fmt: skip
        knowns = [None if (r or {}).get("withheld") else _known(r) for r in rows]
        overall = None if any(c is None for c in counts) else sum(counts)
        total = None if any(n is None for n in knowns) else sum(knowns)
        cells = [_show(overall, total, k)] + [
            _show(c, n, k) for c, n in zip(counts, knowns, strict=True)
        ]
        out.append(_row(label, level, heads, cells))
    missing = [(r or {}).get("missing", 0) for r in rows]
    if any(m != 0 for m in missing):
        cells = [_cell(_total(missing))] + [_cell(m) for m in missing]
        out.append(_row(label, "Missing", heads, cells))
    return out


def _known(row: dict | None) -> int | None:
    if not row:
        return 0
    values = list(row.get("levels", {}).values())
    return None if any(v is None for v in values) else int(sum(values))


def _total(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else int(sum(values))


def _count(value: int | None, k: int | None) -> str:
    return f"<{k}" if value is None else str(value)


def _cell(value: int | None) -> str:
    return WITHHELD if value is None else str(value)


def _show(count: int | None, known: int | None, k: int | None) -> str:
    if count is None or known is None:
        return WITHHELD if count is None else f"{count}"
    return f"{count} ({100 * count / known:.1f}%)" if known else "0"


def _continuous(label: str, rows: list[dict | None], heads: list[str], k) -> list[dict]:
    x = np.concatenate([agg.sketch_values((r or {}).get("sketch", {})) for r in rows])
    overall = "NA"
    if any(r and r.get("n") is None for r in rows):  # a site's values withheld
        overall = WITHHELD
    elif len(x):
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        overall = f"{_fmt(med)} ({_fmt(q1)}-{_fmt(q3)})"
    per = [
        f"{_fmt(r['median'])} ({_fmt(r['q1'])}-{_fmt(r['q3'])})" if r and "median" in r else "NA"
        for r in rows
    ]
    out = [_row(label, "Median (IQR)", heads, [overall, *per])]
    if k is None and len(x):
        rng = f"{_fmt(x.min())}-{_fmt(x.max())}"
        per_rng = [_range(r) for r in rows]
        out.append(_row(label, "Range", heads, [rng, *per_rng]))
    return out


def _range(row: dict | None) -> str:
    sk = (row or {}).get("sketch", {})
    if not sk.get("low"):
        return "NA"
    return f"{_fmt(sk['low'][0])}-{_fmt(sk['high'][-1])}"


def pooled_table1(
    summaries: list[dict[str, Any]], k: int | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Table 1 (Overall and per site) and its ``table1_wide`` JSON block."""
    sizes = [s["table1"]["patients"] for s in summaries]
    total = _total(sizes)
    # a site's N withheld is 1 to K-1 (<K); the Overall is then at least the other
    # sites' N, so not <K (unless it is that one site): withheld
    overall = _count(total, k) if total is not None or len(sizes) == 1 else WITHHELD
    heads = [f"Overall (N={overall})"] + [
        f"{s[Col.SITE]} (N={_count(n, k)})" for s, n in zip(summaries, sizes, strict=True)
    ]
    rows = [_row("Patients", "", heads, [overall, *(_count(n, k) for n in sizes)])]
    for column, label, kind in TABLE1_ROWS:
        per = [s["table1"]["rows"].get(column) for s in summaries]
        if all(p is None for p in per):
            continue
        build = _continuous if kind == "continuous" else _categorical
        rows += build(label, per, heads, k)
    table = pd.DataFrame(rows)
    block = {
        "by": Col.SITE,
        "groups": [{"group": h, "n": n} for h, n in zip(heads, [total, *sizes], strict=True)],
        "missing_group": 0,
        "rows": [
            row | {"p_value": None, "test": "not pooled (needs the values)"}
            for row in table.astype(object).where(table.notna(), None).to_dict(orient="records")
        ],
    }
    return table, block
