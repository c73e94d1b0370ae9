"""Serial labs -> one IMWG value row per patient and visit, in canonical units.

Each raw lab row is mapped to an IMWG parameter by its ``test`` text (``[tests]`` of
``imwg_rules.toml``) and converted to the canonical unit of its family by its
``unit`` text (``[units]``): serum M-protein in g/dL (g/L x 0.1), urine M-protein in
mg/24 h, serum free light chains in mg/dL (mg/L x 0.1), marrow plasma cells in %.
Units are read per value, so one patient may mix g/L and g/dL. Immunofixation is
1 (POSITIVE) or 0 (NEGATIVE). Rows of other tests go to the attrition.

References
----------
Kumar S et al., Lancet Oncol 2016;17:e328 (IMWG parameters; REFERENCE 3.1-3.3).
"""

from __future__ import annotations

import ibis
import pyarrow as pa

from aftercar.derive.raw.rules import Rules
from aftercar.errors import Problem
from aftercar.schema import Col

#: IMWG parameter -> unit family.
FAMILY = {"serum_m": "serum", "urine_m": "urine", "kappa": "flc", "lambda": "flc",
          "marrow_pc": "marrow", "ife_serum": "ife", "ife_urine": "ife"}  # fmt: skip
PARAMS = tuple(FAMILY)


def _lookups(con, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    tests = rules.test_names()
    t = pa.table({"test_key": list(tests), "param": list(tests.values()),
                  "family": [FAMILY[p] for p in tests.values()]})  # fmt: skip
    u = rules.unit_factors()
    units = pa.table({"family": [k[0] for k in u], "unit": [k[1] for k in u],
                      "factor": list(u.values())})  # fmt: skip
    return (con.create_table("_test_lookup", t, overwrite=True),
            con.create_table("_unit_lookup", units, overwrite=True))  # fmt: skip


def normalise_labs(con, labs: ibis.Table, rules: Rules) -> ibis.Table:
    """Return ``patient_id, date, row, test, unit, param, text, value`` and ``problem``.

    ``value`` is in canonical units; ``param`` is null for a test the IMWG criteria
    do not use; ``problem`` says why a row of a used test cannot be read.
    """
    tests, units = _lookups(con, rules)
    # the text work (case, spaces, unit) is done once per distinct (test, unit) pair
    k = labs.select("test", _unit=labs.unit.fill_null("")).distinct()
    k = k.mutate(test_key=k.test.lower().strip(), _ukey=k._unit.strip())
    k = k.left_join(tests, "test_key").drop("test_key_right")
    k = k.left_join(units, [k.family == units.family, k._ukey == units.unit])
    k = con.create_table("_lab_keys", k.select("test", "_unit", "param", "family", "factor"),
                         overwrite=True)  # fmt: skip
    lab = labs.mutate(_unit=labs.unit.fill_null(""))
    j = lab.left_join(k, ["test", "_unit"])
    value_text = j.value.strip()
    number = value_text.try_cast("float64")
    ife = value_text.upper().cases(("POSITIVE", 1.0), ("POS", 1.0), ("NEGATIVE", 0.0),
                                   ("NEG", 0.0))  # fmt: skip
    is_ife = j.family == "ife"
    value = ibis.ifelse(is_ife, ife, number * j.factor)
    problem = ibis.cases(
        (j.param.isnull(), ibis.null("string")),
        (is_ife & ife.isnull(), "immunofixation result must be POSITIVE or NEGATIVE"),
        (~is_ife & number.isnull(), "not a number"),
        (~is_ife & j.factor.isnull(), "unknown unit for this test"),
        else_=ibis.null("string"),
    )
    return j.select(j.patient_id, j.date, j.row, j.test, j.unit, j.param, text=j.value,
                    value=value.cast("float64"), problem=problem)  # fmt: skip


def lab_problems(norm: ibis.Table, file: str = "labs") -> list[Problem]:
    """File/row/column/value/fix problems for used lab rows that cannot be read."""
    bad = norm.filter(norm.problem.notnull()).order_by("row").limit(50).to_pyarrow().to_pylist()
    out = []
    for r in bad:
        col = "unit" if "unit" in r["problem"] else "value"
        hint = (
            "add the unit to [units] in the rules TOML, or convert the value"
            if col == "unit"
            else "write a plain number (or POSITIVE / NEGATIVE)"
        )
        value = r["unit"] if col == "unit" else r["text"]
        out.append(Problem(file, r["row"], col, str(value), f"{r['test']}: {r['problem']}", hint))
    return out


def _col(param: str) -> str:
    return "lambda_" if param == "lambda" else param


def visits(norm: ibis.Table) -> ibis.Table:
    """Pivot the readable IMWG rows to one row per patient and date.

    Columns: ``patient_id, date, vid`` (unique visit id, the tie-breaker of every
    window), ``serum_m, urine_m, kappa, lambda, marrow_pc, ife_serum, ife_urine``
    (``lambda_``; null = not measured that day; two same-day values of a test: the higher).
    """
    ok = norm.filter(norm.param.notnull() & norm.problem.isnull() & norm.value.notnull())
    agg = {_col(p): ok.value.max(where=ok.param == p) for p in PARAMS}
    v = ok.group_by([Col.PATIENT_ID, "date"]).aggregate(**agg)
    w = ibis.window(order_by=[v.patient_id, v.date])
    return v.mutate(vid=ibis.row_number().over(w))
