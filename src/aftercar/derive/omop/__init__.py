"""aftercar.derive.omop: the study cohort from an OMOP CDM instance (issue 13).

Public API
----------
derive_omop(source, *, con=None, schema=None, concepts=None, rules=None, progress=None)
    OMOP tables -> raw tables (Ibis expressions) -> the raw-records derivation:
    curated ``patients`` + ``lines``, audit, attrition, cohort attrition counts.
write_omop_derivation(d, output, fmt, *, episodes=False, source=None, schema=None)
    Write the cohort folder, and EPISODE / EPISODE_EVENT rows.
derive_omop_batched(source, output, fmt, *, batch_persons=25_000, ...)
    Both, in batches of persons, the outputs streamed to disk (bounded memory).
derive_omop_folder(source, output, **options) -> Path
    Both steps (what ``aftercar report --omop`` does before the analysis; batched
    on DuckDB).
load_concepts(local, rules)
    The concept mappings (``data/omop/``) plus a site's local concepts TOML.

See ``docs/omop.md``.
"""

from __future__ import annotations

from pathlib import Path

from aftercar.derive.omop.batched import DEFAULT_BATCH_PERSONS, BatchedRun, derive_omop_batched
from aftercar.derive.omop.concepts import Concepts, load_concepts
from aftercar.derive.omop.derive import OmopDerivation, derive_omop
from aftercar.derive.omop.write import episode_tables, write_omop_derivation


def derive_omop_folder(source, output, *, con=None, schema: str | None = None,
                       concepts=None, rules=None, fmt: str = "csv",
                       batch_persons: int = DEFAULT_BATCH_PERSONS) -> Path:  # fmt: skip
    """Derive the cohort of the OMOP instance ``source`` and write it to ``output``.

    On DuckDB (``con`` ``None`` or a DuckDB connection) the persons are derived in
    batches of ``batch_persons`` (:func:`derive_omop_batched`: the same files, with
    the memory of one batch); on another engine (Spark, which spills by itself) in
    one run.

    Returns
    -------
    Path
        ``output``, ready for :func:`aftercar.io.read_cohort`.
    """
    if con is None or getattr(con, "name", None) == "duckdb":
        derive_omop_batched(source, output, fmt, batch_persons=batch_persons, con=con,
                            schema=schema, concepts=concepts, rules=rules)  # fmt: skip
        return Path(output)
    d = derive_omop(source, con=con, schema=schema, concepts=concepts, rules=rules)
    write_omop_derivation(d, output, fmt, source=source)
    return Path(output)


__all__ = ["DEFAULT_BATCH_PERSONS", "BatchedRun", "Concepts", "OmopDerivation", "derive_omop",
           "derive_omop_batched", "derive_omop_folder", "episode_tables", "load_concepts",
           "write_omop_derivation"]  # fmt: skip
