"""The simulated raw records as an OMOP CDM 5.4 instance (``aftercar simulate --omop``).

Converts whatever the raw folder holds (``patients``, ``administrations``,
``procedures``, ``labs``; CSV or Parquet) table by table, in batches, with Arrow
compute (a Python step only per distinct text):

* ``person`` (``person_id`` = 1.., ``person_source_value`` = the simulated id,
  gender 8507/8532, birth date = ``birth_date`` or ``car_t_date`` minus
  ``age_at_cart`` years, care site = ``site``), ``care_site``, ``death``;
* ``observation_period``: one year before the CAR T (the simulator draws no earlier
  history) to the last follow-up or death;
* ``condition_occurrence``: multiple myeloma (437233) one year before the CAR T (the
  simulator draws no diagnosis date; only the disease EPISODE uses it);
* ``drug_exposure`` (``drug_exposure_id`` in file order): the RxNorm ingredient
  concept when the order text names exactly one ingredient of
  ``data/omop/drug_ingredients.csv``, else 0; ``drug_source_value`` = the order
  text; plus the index CAR-T product on ``car_t_date`` (its ingredient concept, else
  0, with the product text as source value), which the raw patients table names;
* ``procedure_occurrence``: the concept of ``data/omop/procedures.csv`` whose text
  equals the procedure text, else 0, with the text as source value;
* ``measurement``: the LOINC concept of the test's IMWG parameter (serum M-protein,
  kappa and lambda FLC, marrow plasma cells), else 0 with the test name as
  ``measurement_source_value``; numbers in ``value_as_number``, POSITIVE / NEGATIVE
  as ``value_as_concept_id`` 45884084 / 45878583; unit concept from
  ``data/omop/units.csv`` and the unit text as ``unit_source_value``;
* the study covariates of the raw patients table, dated 30 days before the CAR T, with
  the concepts of ``data/omop/covariates.csv``: ``ecog`` as a ``measurement`` of the
  ECOG score (``value_as_number``); ``iss_stage`` as a recorded stage concept for
  every other person and as serum beta-2 microglobulin (mg/L) and albumin (g/dL)
  values of that stage (Greipp 2005) for the others; ``high_risk_cytogenetics`` as a
  positive del(17p) result, or (false) a negative result for each abnormality;
  ``extramedullary_disease`` as an ``observation`` of the local concept
  :data:`EMD_LOCAL_CONCEPT` (no standard concept is shipped) with a positive or
  negative result, declared in ``local_concepts.toml`` beside the tables;
* ``concept`` and ``concept_ancestor``: the concepts used (ancestor rows of level 0).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.errors import InputError
from aftercar.io.csv_out import append_csv
from aftercar.schema import PROVENANCE_FILE, Col
from aftercar.vocab import parse_regimen

_BATCH = 2_000_000
_YEAR = timedelta(days=365)
_MM = 437233
_GENDER = {"M": 8507, "F": 8532}
_POS, _NEG = 45884084, 45878583
#: IMWG parameter -> the measurement test name of ``data/omop/measurements.csv``.
_PARAM_TEST = {"serum_m": "serum M-protein", "kappa": "kappa FLC", "lambda": "lambda FLC",
               "marrow_pc": "marrow plasma cells %"}  # fmt: skip
#: The simulated instance's local concept for extramedullary disease (an observation
#: with a Positive / Negative value), declared in :data:`LOCAL_CONCEPTS_FILE`.
EMD_LOCAL_CONCEPT = 2_000_000_601
LOCAL_CONCEPTS_FILE = "local_concepts.toml"
_LOCAL_TOML = f"""\
# Local concepts of this simulated OMOP instance: aftercar derive --omop DIR --concepts THIS
[covariates]
{EMD_LOCAL_CONCEPT} = {{ covariate = "{Col.EXTRAMEDULLARY_DISEASE}", reads = "finding" }}
"""
_COV_DAYS_BEFORE = 30
#: ISS stage -> (beta-2 microglobulin mg/L, albumin g/dL) of that stage (Greipp 2005).
_ISS_LABS = np.array([[np.nan, np.nan], [2.5, 4.0], [4.5, 3.8], [6.5, 3.1]])


def _data_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("aftercar.data").joinpath(f"omop/{name}").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _tests() -> dict[str, str]:
    """Lower-case raw test text -> IMWG parameter (``[tests]`` of ``imwg_rules.toml``)."""
    text = resources.files("aftercar.data").joinpath("imwg_rules.toml").read_text("utf-8")
    tests = tomllib.loads(text)["tests"]
    return {t.lower(): p for p, names in tests.items() for t in names}


def _file(raw: Path, name: str) -> Path:
    for ext in ("parquet", "csv"):
        if (raw / f"{name}.{ext}").is_file():
            return raw / f"{name}.{ext}"
    raise InputError(f"{raw}: no {name}.parquet or {name}.csv. Fix: simulate with --raw first.")


_TYPES = {"date": pa.date32(), Col.CAR_T_DATE: pa.date32(), Col.DEATH_DATE: pa.date32(),
          Col.LAST_FOLLOWUP_DATE: pa.date32(), Col.BIRTH_DATE: pa.date32(),
          "value": pa.string(), Col.AGE_AT_CART: pa.float64()}  # fmt: skip


def _batches(f: Path) -> Iterator[pa.Table]:
    if f.suffix == ".parquet":
        for b in pq.ParquetFile(f).iter_batches(batch_size=_BATCH):
            yield pa.Table.from_batches([b])
        return
    opts = pacsv.ConvertOptions(column_types=_TYPES, strings_can_be_null=True)
    reader = pacsv.open_csv(f, convert_options=opts,
                            read_options=pacsv.ReadOptions(block_size=64 << 20))  # fmt: skip
    for b in reader:
        yield pa.Table.from_batches([b])


class _Writer:
    """One Parquet or CSV file per OMOP table, appended batch by batch."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt, self.open = out, fmt, {}

    def write(self, name: str, t: pa.Table) -> None:
        if name not in self.open:
            path = self.out / f"{name}.{self.fmt}"
            w = pq.ParquetWriter(path, t.schema, compression="zstd") if self.fmt == "parquet" \
                else pacsv.CSVWriter(path, t.schema)  # fmt: skip
            self.open[name] = (path, w)
        if self.fmt == "parquet":
            self.open[name][1].write_table(t)
        else:
            append_csv(self.open[name][1], t)

    def close(self) -> tuple[Path, ...]:
        for _p, w in self.open.values():
            w.close()
        return tuple(p for p, _w in self.open.values())


def _lookup(values: pa.ChunkedArray | pa.Array, fn, typ) -> pa.Array:
    """Apply ``fn`` to each distinct value (Python per distinct text) and map back."""
    uniq = pc.unique(values)
    mapped = pa.array([fn(v) for v in uniq.to_pylist()], typ)
    return pc.take(mapped, pc.index_in(values, value_set=uniq))


class _Concepts:
    """Text -> concept id rules of the conversion, from ``data/omop/*.csv``."""

    def __init__(self) -> None:
        ing = _data_csv("drug_ingredients.csv")
        self.ingredient = {r["drug"]: int(r["concept_id"]) for r in ing}
        self.procedure = {r["procedure"]: int(r["concept_id"]) for r in _data_csv("procedures.csv")}
        self.unit = {r["unit"]: int(r["concept_id"]) for r in _data_csv("units.csv")}
        tests: dict[str, int] = {}
        for r in _data_csv("measurements.csv"):  # a test's first id (kappa FLC: 36916-5's)
            if r["concept_id"].strip():
                tests.setdefault(r["test"], int(r["concept_id"]))
        self.test = {t: tests[_PARAM_TEST[p]] for t, p in _tests().items() if p in _PARAM_TEST}
        self.covariate = {(r["covariate"], r["value"], r["reads"]): int(r["concept_id"])
                          for r in _data_csv("covariates.csv")}  # fmt: skip

    def drug(self, text: str | None) -> int:
        ids = {self.ingredient[d] for d in parse_regimen(text or "").drugs if d in self.ingredient}
        return ids.pop() if len(ids) == 1 else 0


def _shift(dates, days) -> pa.ChunkedArray:
    """``dates`` + ``days`` (whole days; an array or a number)."""
    d = pc.add(dates.cast(pa.int32()).cast(pa.int64()), pc.cast(days, pa.int64()) if not
               isinstance(days, int) else days)  # fmt: skip
    return d.cast(pa.int32()).cast(pa.date32())


def _rep(value: int, n: int) -> pa.Array:
    return pa.array(np.full(n, value, dtype=np.int64))


def _persons(pats: pa.Table) -> dict[str, pa.Table]:
    n = pats.num_rows
    pid = pa.array(np.arange(1, n + 1), pa.int64())
    cart = pats[Col.CAR_T_DATE]
    days = pc.round(pc.multiply(pats[Col.AGE_AT_CART].cast(pa.float64()), 365.25))
    est = _shift(cart, pc.negate(days))
    birth = pc.coalesce(pats[Col.BIRTH_DATE], est) if Col.BIRTH_DATE in pats.column_names else est
    has_site = Col.SITE in pats.column_names
    sites = pc.unique(pats[Col.SITE]).drop_null() if has_site else pa.array([], pa.string())
    site_id = pc.add(pc.index_in(pats[Col.SITE], value_set=sites), 1) if len(sites) \
        else pa.nulls(n, pa.int64())  # fmt: skip
    sex = _lookup(pats[Col.SEX], lambda s: _GENDER.get(s, 0), pa.int32())
    year_start = _shift(cart, -365)
    end = pc.coalesce(pats[Col.DEATH_DATE], pats[Col.LAST_FOLLOWUP_DATE])
    # one contiguous mask: pyarrow 14's Array.filter takes no ChunkedArray
    dead = pc.is_valid(pats[Col.DEATH_DATE].combine_chunks())
    return {
        "person": pa.table({
            "person_id": pid, "gender_concept_id": sex, "year_of_birth": pc.year(birth),
            "month_of_birth": pc.month(birth), "day_of_birth": pc.day(birth),
            "birth_datetime": birth.cast(pa.timestamp("s")), "race_concept_id": _rep(0, n),
            "ethnicity_concept_id": _rep(0, n), "care_site_id": site_id.cast(pa.int64()),
            "person_source_value": pats[Col.PATIENT_ID], "gender_source_value": pats[Col.SEX]}),
        "care_site": pa.table({"care_site_id": pa.array(np.arange(1, len(sites) + 1), pa.int64()),
                               "care_site_name": sites}),
        "death": pa.table({"person_id": pid.filter(dead),
                           Col.DEATH_DATE: pats[Col.DEATH_DATE].filter(dead),
                           "death_type_concept_id": _rep(32817, int(pc.sum(dead).as_py() or 0))}),
        "observation_period": pa.table({
            "observation_period_id": pid, "person_id": pid,
            "observation_period_start_date": year_start, "observation_period_end_date": end,
            "period_type_concept_id": _rep(32817, n)}),
        "condition_occurrence": pa.table({
            "condition_occurrence_id": pid, "person_id": pid,
            "condition_concept_id": _rep(_MM, n), "condition_start_date": year_start,
            "condition_type_concept_id": _rep(32817, n),
            "condition_source_value": pa.array(["multiple myeloma"] * n, pa.string())}),
    }  # fmt: skip


def _person_ids(ids: pa.ChunkedArray | pa.Array, known: pa.Array) -> pa.Array:
    return pc.add(pc.index_in(ids, value_set=known), 1).cast(pa.int64())


def _drugs(t: pa.Table, known: pa.Array, first: int, cc: _Concepts) -> pa.Table:
    n = t.num_rows
    return pa.table({
        "drug_exposure_id": pa.array(np.arange(first, first + n), pa.int64()),
        "person_id": _person_ids(t[Col.PATIENT_ID], known),
        "drug_concept_id": _lookup(t["drug"], cc.drug, pa.int64()),
        "drug_exposure_start_date": t["date"].cast(pa.date32()),
        "drug_exposure_end_date": t["date"].cast(pa.date32()),
        "drug_type_concept_id": _rep(32817, n), "drug_source_value": t["drug"],
    })  # fmt: skip


def _index_products(pats: pa.Table, first: int, cc: _Concepts) -> pa.Table:
    prod = pats.select([Col.PATIENT_ID, Col.CAR_T_DATE, Col.CAR_T_PRODUCT]).rename_columns(
        [Col.PATIENT_ID, "date", "drug"])
    return _drugs(prod, pats[Col.PATIENT_ID], first, cc)


def _procedures(t: pa.Table, known: pa.Array, first: int, cc: _Concepts) -> pa.Table:
    n = t.num_rows
    return pa.table({
        "procedure_occurrence_id": pa.array(np.arange(first, first + n), pa.int64()),
        "person_id": _person_ids(t[Col.PATIENT_ID], known),
        "procedure_concept_id": _lookup(t["procedure"], lambda s: cc.procedure.get(s, 0),
                                        pa.int64()),
        "procedure_date": t["date"].cast(pa.date32()),
        "procedure_type_concept_id": _rep(32817, n), "procedure_source_value": t["procedure"],
    })  # fmt: skip


def _measurements(t: pa.Table, known: pa.Array, first: int, cc: _Concepts) -> pa.Table:
    n = t.num_rows
    text = pc.utf8_upper(pc.utf8_trim_whitespace(t["value"]))
    number = pc.if_else(pc.match_substring_regex(text, r"^[-+]?(\d+\.?\d*|\.\d+)$"), text,
                        pa.scalar(None, pa.string())).cast(pa.float64())  # fmt: skip
    result = _lookup(text, lambda v: {"POSITIVE": _POS, "NEGATIVE": _NEG}.get(v), pa.int64())
    unit = t["unit"] if "unit" in t.column_names else pa.nulls(n, pa.string())
    return pa.table({
        "measurement_id": pa.array(np.arange(first, first + n), pa.int64()),
        "person_id": _person_ids(t[Col.PATIENT_ID], known),
        "measurement_concept_id": _lookup(t["test"], lambda s: cc.test.get((s or "").lower(), 0),
                                          pa.int64()),
        "measurement_date": t["date"].cast(pa.date32()),
        "measurement_type_concept_id": _rep(32817, n),
        "value_as_number": number, "value_as_concept_id": result,
        "unit_concept_id": _lookup(unit, lambda u: cc.unit.get(u), pa.int64()),
        "measurement_source_value": t["test"], "unit_source_value": unit,
        "value_source_value": t["value"],
    })  # fmt: skip


def _vocabulary(cc: _Concepts) -> dict[str, pa.Table]:
    rows = [(int(r["concept_id"]), r["concept_name"], dom, voc, cls)
            for name, dom, voc, cls in (("drug_ingredients.csv", "Drug", "RxNorm", "Ingredient"),
                                        ("measurements.csv", "Measurement", "LOINC", "Lab Test"),
                                        ("units.csv", "Unit", "UCUM", "Unit"),
                                        ("values.csv", "Meas Value", "LOINC", "Answer"),
                                        ("procedures.csv", "Procedure", "SNOMED", "Procedure"),
                                        ("conditions.csv", "Condition", "SNOMED", "Disorder"))
            for r in _data_csv(name) if r["concept_id"].strip()]  # fmt: skip
    rows += [(8507, "MALE", "Gender", "Gender", "Gender"),
             (8532, "FEMALE", "Gender", "Gender", "Gender")]  # fmt: skip
    cols = list(zip(*rows, strict=True))
    concept = pa.table({"concept_id": pa.array(cols[0], pa.int64()), "concept_name": cols[1],
                        "domain_id": cols[2], "vocabulary_id": cols[3],
                        "concept_class_id": cols[4], "standard_concept": ["S"] * len(rows)})
    ids = concept["concept_id"]
    ancestor = pa.table({"ancestor_concept_id": ids, "descendant_concept_id": ids,
                         "min_levels_of_separation": _rep(0, len(ids)),
                         "max_levels_of_separation": _rep(0, len(ids))})  # fmt: skip
    return {"concept": concept, "concept_ancestor": ancestor}


def _valid(pats: pa.Table, col: str) -> np.ndarray:
    """Row numbers of the patients with a value in ``col`` (none when the column is absent)."""
    if col not in pats.column_names:
        return np.array([], np.int64)
    return np.flatnonzero(pc.is_valid(pats[col]).to_numpy(zero_copy_only=False))


def _values(pats: pa.Table, col: str, idx: np.ndarray) -> np.ndarray:
    return pats[col].take(pa.array(idx, pa.int64())).to_numpy(zero_copy_only=False)


def _part(idx, concept, number=None, result=None, unit=None) -> dict:
    """Covariate rows of the patients ``idx`` (numbers: NaN = none; result 0 = none)."""
    n = len(idx)
    return {"idx": idx, "concept": np.broadcast_to(concept, n).astype(np.int64),
            "number": np.full(n, np.nan) if number is None else number.astype(np.float64),
            "result": np.zeros(n, np.int64) if result is None else result,
            "unit": np.full(n, None, object) if unit is None else np.full(n, unit, object)}


def _cov_parts(pats: pa.Table, cc: _Concepts) -> list[dict]:
    """ECOG, ISS (stage concept or labs) and cytogenetics measurement rows (vectorised)."""
    cov, parts = cc.covariate, []
    ecog = _valid(pats, Col.ECOG)
    parts.append(_part(ecog, cov[(Col.ECOG, "", "number")], _values(pats, Col.ECOG, ecog)))
    iss = _valid(pats, Col.ISS_STAGE)
    stage = _values(pats, Col.ISS_STAGE, iss).astype(np.int64)
    rec = (iss % 2) == 0  # every other person: a recorded stage; the others: their labs
    concepts = np.array([0] + [cov[(Col.ISS_STAGE, str(s), "constant")] for s in (1, 2, 3)])
    parts.append(_part(iss[rec], concepts[stage[rec]]))
    for k, lab, unit in ((0, "b2m", "mg/L"), (1, "albumin", "g/dL")):
        parts.append(_part(iss[~rec], cov[(Col.ISS_STAGE, lab, "number")],
                           _ISS_LABS[stage[~rec], k], unit=unit))  # fmt: skip
    hr = _valid(pats, Col.HIGH_RISK_CYTOGENETICS)
    pos = _values(pats, Col.HIGH_RISK_CYTOGENETICS, hr).astype(bool)
    tests = {v: c for (cv, v, r), c in cov.items() if cv == Col.HIGH_RISK_CYTOGENETICS
             and r == "result"}  # fmt: skip
    parts.append(_part(hr[pos], tests["del(17p)"], result=np.full(pos.sum(), _POS)))
    for abnormality in sorted(tests):
        parts.append(_part(hr[~pos], tests[abnormality], result=np.full((~pos).sum(), _NEG)))
    return parts


def _covariates(pats: pa.Table, first: int, cc: _Concepts) -> dict[str, pa.Table]:
    """``measurement`` and ``observation`` rows of the patients' covariates."""
    date = _shift(pats[Col.CAR_T_DATE], -_COV_DAYS_BEFORE).combine_chunks()
    pid = np.arange(1, pats.num_rows + 1, dtype=np.int64)
    emd = _valid(pats, Col.EXTRAMEDULLARY_DISEASE)
    present = _values(pats, Col.EXTRAMEDULLARY_DISEASE, emd).astype(bool)
    out = {}
    for name, parts in (("measurement", _cov_parts(pats, cc)),
                        ("observation", [_part(emd, EMD_LOCAL_CONCEPT,
                                               result=np.where(present, _POS, _NEG))])):
        m = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        n, idx = len(m["idx"]), pa.array(m["idx"], pa.int64())
        unit = pa.array(m["unit"], pa.string())
        out[name] = pa.table({
            f"{name}_id": pa.array(np.arange(first, first + n), pa.int64()),
            "person_id": pa.array(pid[m["idx"]], pa.int64()),
            f"{name}_concept_id": pa.array(m["concept"], pa.int64()),
            f"{name}_date": date.take(idx), f"{name}_type_concept_id": _rep(32817, n),
            "value_as_number": pa.array(m["number"], pa.float64(), mask=np.isnan(m["number"])),
            "value_as_concept_id": pa.array(m["result"], pa.int64(), mask=m["result"] == 0),
            "unit_concept_id": _lookup(unit, lambda u: cc.unit.get(u), pa.int64()),
            f"{name}_source_value": pa.array([name + " covariate"] * n, pa.string()),
            "unit_source_value": unit, "value_source_value": pa.nulls(n, pa.string())})  # fmt: skip
        first += n
    return out


_CONVERT = {"administrations": ("drug_exposure", _drugs),
            "procedures": ("procedure_occurrence", _procedures),
            "labs": ("measurement", _measurements)}  # fmt: skip


def _offset(t: pa.Table, by: int, cols: tuple[str, ...]) -> pa.Table:
    """``t`` with ``by`` added to the id columns ``cols`` it has."""
    for c in cols:
        if by and c in t.column_names:
            t = t.set_column(t.column_names.index(c), c, pc.add(t[c], pa.scalar(by, pa.int64())))
    return t


_PERSON_KEYED = ("person_id", "observation_period_id", "condition_occurrence_id")


def write_omop(raw: str | Path, out: str | Path, fmt: str = "parquet", *,
               first_person_id: int = 1, first_row_id: int = 1) -> tuple[Path, ...]:  # fmt: skip
    """Write the raw folder ``raw`` as an OMOP CDM instance (one file per table) in ``out``.

    Parameters
    ----------
    raw
        A raw-records folder (``aftercar simulate --raw``: ``patients``,
        ``administrations``, ``procedures``, ``labs``).
    out
        Output folder (created).
    fmt
        ``"parquet"`` or ``"csv"``.
    first_person_id, first_row_id
        The first ``person_id`` (persons are numbered from it in file order) and the
        first ``drug_exposure_id`` / ``procedure_occurrence_id`` / ``measurement_id``:
        instances written part by part (``benchmarks/bench_omop.py``) give each part
        ids of its own.

    Returns
    -------
    tuple of Path
        The files written.
    """
    raw, out = Path(raw), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cc = _Concepts()
    pats = pa.concat_tables(list(_batches(_file(raw, "patients"))))
    known = pats[Col.PATIENT_ID].combine_chunks()
    shift = first_person_id - 1
    w = _Writer(out, fmt)
    try:
        for name, t in {**_persons(pats), **_vocabulary(cc)}.items():
            w.write(name, _offset(t, shift, _PERSON_KEYED))
        for src, (name, fn) in _CONVERT.items():
            first = first_row_id
            for b in _batches(_file(raw, src)):
                w.write(name, _offset(fn(b, known, first, cc), shift, ("person_id",)))
                first += b.num_rows
            if src == "administrations":
                w.write(name, _offset(_index_products(pats, first, cc), shift, ("person_id",)))
        for name, t in _covariates(pats, first, cc).items():  # ids after the labs'
            w.write(name, _offset(t, shift, ("person_id",)))
    finally:
        files = w.close()
    (out / LOCAL_CONCEPTS_FILE).write_text(_LOCAL_TOML, encoding="utf-8")
    files += (out / LOCAL_CONCEPTS_FILE,)
    marker = raw / PROVENANCE_FILE  # the instance is as synthetic as the records it holds
    if marker.is_file():
        (out / PROVENANCE_FILE).write_text(marker.read_text("utf-8"), encoding="utf-8")
        files += (out / PROVENANCE_FILE,)
    return files


__all__ = ["EMD_LOCAL_CONCEPT", "LOCAL_CONCEPTS_FILE", "write_omop"]
