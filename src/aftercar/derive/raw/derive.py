"""Raw records in, curated cohort (``patients`` + ``lines``), audit and attrition out.

:func:`derive_raw` runs the whole derivation on an Ibis connection (in-process
DuckDB by default): classify rows, find bundles, date the index progression, cut
lines (one set-based step per line number, on compact tables) and assess every line by IMWG 2016.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import ibis
import pyarrow as pa

from aftercar.backends.duckdb import engine
from aftercar.derive.raw import audit, events, lines
from aftercar.derive.raw.classify import classify_administrations, classify_procedures
from aftercar.derive.raw.imwg import assessments, summarise
from aftercar.derive.raw.labs import lab_problems, normalise_labs, urine_visits, visits
from aftercar.derive.raw.read import FILE_KEY
from aftercar.derive.raw.result import RawDerivation
from aftercar.derive.raw.rules import Rules, load_rules
from aftercar.errors import CohortError
from aftercar.schema import Col

Progress = Callable[[str], None]


#: Memory the in-process engine may hold before it spills to a temporary folder (issue 12
#: item 7: 100,000 patients within 8 GiB). The raw Arrow tables (2.2 GiB at 100,000
#: patients) are released once the engine holds its copies (``release=True``), which
#: leaves room for 4.5 GB (less spilling: 2500MB cost ~25 more CPU s); the limit drops to
#: ``OUTPUT_MEMORY`` while the Arrow outputs are built. Measured at 100,000 patients:
#: 7.38-7.41 GiB peak (4500MB throughout: 8.9 GiB).
ENGINE_MEMORY = "4500MB"
#: The engine's limit while the outputs (the audit: ~22M rows at 100,000 patients) are
#: built as Arrow tables beside it.
OUTPUT_MEMORY = "2500MB"


def _connect():
    """A new in-process DuckDB that spills to a temporary folder above ``ENGINE_MEMORY``."""
    return engine(ENGINE_MEMORY)


def _register(con, raw: dict[str, pa.Table | ibis.Table]) -> dict[str, ibis.Table]:
    """The raw tables as Ibis tables: Arrow tables in memory (scanned, not copied), Ibis
    tables of ``con`` as they are (the OMOP mapping's), the patients copied in."""
    out = {name: t if isinstance(t, ibis.Table) else ibis.memtable(t)
           for name, t in raw.items() if name != "patients"}  # fmt: skip
    p = con.create_table("raw_patients", raw["patients"], overwrite=True)
    w = ibis.window(order_by=p.patient_id)
    out["patients"] = con.create_table(
        "_pats", p.mutate(pkey=ibis.row_number().over(w).cast("int64")), overwrite=True
    )
    return out


#: Intermediate tables no step reads after the named step; dropped then so that the engine
#: keeps the tables still needed in memory instead of spilling them (issue 12 item 7).
_DONE_AFTER = {
    "index": ("_anchors", "_bundle_events", "_inf", "_index_first", "_index_maintenance"),
    "lines": ("_drug_dates", "_gap_dates", "_pause_dates", "_runs", "_bundles", "_cur", "_rb",
              "_pd", "_line", "_lines_all", "_lines_raw", "_members_raw", "_lines_maint"),
    "responses": ("_visits", "_segments", "_line_summary", "_lines"),
}


def _drop(con, step: str) -> None:
    """Drop the intermediate tables of ``_DONE_AFTER[step]`` (those that exist)."""
    for name in _DONE_AFTER[step]:
        con.drop_table(name, force=True)


def _after_followup(t: ibis.Table, pats: ibis.Table, col: str, label: str) -> ibis.Table:
    """Label rows dated after death / last follow-up (they never enter a derivation)."""
    fu = pats.select(Col.PATIENT_ID, _fu=ibis.coalesce(pats.death_date, pats.last_followup_date))
    j = t.join(fu, Col.PATIENT_ID)
    late = (j.date > j._fu).fill_null(False)
    return j.mutate(**{col: ibis.ifelse(late, label, j[col])}).drop("_fu")


def _check_labs(norm: ibis.Table, file: str = "labs") -> None:
    """Stop on used lab rows that cannot be read (``file``, row, column, value, fix)."""
    problems = lab_problems(norm, file)
    if problems:
        listed = sum(p.row is not None for p in problems)
        more = " (and more)" if listed < len(problems) else ""
        raise CohortError(problems, f"{listed} unreadable lab row(s){more}")


def _file(raw: dict) -> str:
    """The file the ``labs`` table was read from (:data:`aftercar.derive.raw.read.FILE_KEY`),
    else "labs"."""
    t = raw.get("labs")
    meta = (t.schema.metadata or {}) if isinstance(t, pa.Table) else {}
    return meta.get(FILE_KEY.encode(), b"labs").decode()


def _prepare(con, raw: dict[str, pa.Table], rules: Rules, step: Progress,
             check_labs: Callable[[ibis.Table], None]):  # fmt: skip
    t = _register(con, raw)
    step("classifying drugs and procedures")
    adm = _after_followup(classify_administrations(con, t["administrations"], rules),
                          t["patients"], "role", "after_followup")  # fmt: skip
    adm = con.create_table("_adm", adm, overwrite=True)
    proc = _after_followup(classify_procedures(con, t["procedures"]), t["patients"], "kind",
                           "after_followup")  # fmt: skip
    proc = con.create_table("_proc", proc, overwrite=True)
    step("normalising labs")
    # one full-size lab table, normalised and labelled in one pass, without the texts that
    # only a message about an unreadable row shows (test, unit, value as given): those are
    # read again, from the normalising expression, when a row has a problem
    full = normalise_labs(con, t["labs"], rules)
    slim = urine_visits(full.select(Col.PATIENT_ID, "date", "row", "param", "value",
                                    "problem", fu=ibis.literal("")))  # fmt: skip
    norm = con.create_table("_labs_fu", _after_followup(slim, t["patients"], "fu",
                                                        "after_followup"),
                            overwrite=True)  # fmt: skip
    if norm.problem.notnull().any().execute():  # rows of known patients, as norm's
        check_labs(full.semi_join(t["patients"], Col.PATIENT_ID))
    vis = con.create_table("_visits", visits(norm.filter(norm.fu != "after_followup")),
                           overwrite=True)  # fmt: skip
    _forget(con, t)
    return t["patients"], adm, proc, norm, vis


def _forget(con, tables: dict[str, ibis.Table]) -> None:
    """Unregister the raw Arrow tables from an in-process DuckDB once every step reads its
    own copies (``_adm``, ``_proc``, ``_labs_fu``): DuckDB would otherwise keep them alive
    until the connection closes (issue 12 item 7, memory)."""
    if con.name != "duckdb":
        return
    for t in tables.values():
        op = t.op()
        if isinstance(op, ibis.expr.operations.InMemoryTable):
            con.con.unregister(op.name)


def _final_lines(con, segs: ibis.Table, pats: ibis.Table, vis, rules: Rules):
    s = segs.join(pats.select(Col.PATIENT_ID, "pkey"), Col.PATIENT_ID)
    w = ibis.window(group_by=s.patient_id, order_by=s.line)
    s = s.mutate(next_start=s.start_date.lead().over(w), prev_end_rule=s.end_rule.lag().over(w))
    s = con.create_table("_segments", s, overwrite=True)
    cand = s.select(Col.PATIENT_ID, lkey=s.pkey * 1000 + s.line, start_date=s.start_date,
                    window_end=s.next_start)  # fmt: skip
    a = con.create_table("_line_assessments", assessments(cand, vis, rules), overwrite=True)
    summ = con.create_table("_line_summary", summarise(cand, a, rules), overwrite=True)
    s = s.mutate(lkey=s.pkey * 1000 + s.line)
    out = s.join(summ.select("lkey", Col.BEST_RESPONSE, Col.PROGRESSION_DATE, "param",
                             "measurable", "n_assessments"), "lkey")  # fmt: skip
    return con.create_table("_lines_final", out, overwrite=True), a


def derive_raw(
    raw: dict[str, pa.Table],
    *,
    rules: Rules | None = None,
    con=None,
    progress: Progress | None = None,
    release: bool = False,
    check_labs: Callable[[ibis.Table], None] | None = None,
    ordered_attrition: bool = True,
    table_names: dict[str, str] | None = None,
) -> RawDerivation:
    """Derive the curated cohort from raw records.

    Parameters
    ----------
    raw
        ``{"patients", "administrations", "procedures", "labs"}`` as returned by
        :func:`aftercar.derive.raw.read.read_raw` (or Ibis tables of ``con``, the OMOP
        mapping's, whose ``patient_id`` may be an integer: every output gives it as text).
    rules
        Rule set (default: the shipped ``lot_rules.toml`` + ``imwg_rules.toml``).
    con
        An Ibis connection (default: a new in-process DuckDB).
    progress
        Called with a short description before each step.
    release
        Remove the raw tables from ``raw`` once the engine holds its own copies, so that
        their memory (about half of the peak at 100,000 patients) is freed when the
        caller keeps no other reference to them.
    check_labs
        Called with the normalised lab table (``row, test, unit, text, problem``, ...; see
        :func:`aftercar.derive.raw.labs.normalise_labs`) when a row of the materialised
        one has a problem; raises :class:`~aftercar.errors.CohortError` for unreadable
        rows. Default: the rows named as rows of the ``labs`` file. The OMOP derivation
        names them as ``measurement`` rows instead.
    ordered_attrition
        Order the attrition by table and row (``False``: in no set order, for a caller
        that sorts the attrition of several derivations together, a batched OMOP run).
    table_names
        The names the audit's events and the attrition give the raw tables (``"patients",
        "administrations", "procedures", "labs"``; others are kept): OMOP's for the OMOP
        derivation. Default: the raw names.

    Returns
    -------
    RawDerivation
    """
    rules = rules or load_rules()
    own = con is None
    con = con if con is not None else _connect()
    step = progress or (lambda _s: None)
    pats, adm, proc, norm, vis = _prepare(con, raw, rules, step,
                                          check_labs or partial(_check_labs, file=_file(raw)))
    if release:
        for name in ("administrations", "procedures", "labs"):
            raw.pop(name, None)
    step("finding CAR-T, transplant and radiotherapy bundles")
    c = events.build(con, pats, adm, proc, vis, rules)
    step("dating the index progression")
    index, index_a = events.index_progression(con, c, rules)
    ev = events.salvage_events(con, c, index, rules)
    _drop(con, "index")
    step("cutting lines of therapy")
    segs, members = lines.segment(con, ev, vis, rules)
    _drop(con, "lines")
    step("assessing IMWG responses")
    final, line_a = _final_lines(con, segs, pats, vis, rules)
    _drop(con, "responses")
    step("writing the cohort and the audit")
    if own:
        con.raw_sql(f"SET memory_limit = '{OUTPUT_MEMORY}'")  # the Arrow outputs grow now
    return audit.assemble(con, c, index, index_a, final, members, line_a, norm, rules,
                          ordered_attrition, table_names)  # fmt: skip


__all__ = ["RawDerivation", "derive_raw"]
