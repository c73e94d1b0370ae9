"""Classify regimen texts into therapy categories with flags.

:func:`classify_regimens` dictionary-encodes its input, classifies each unique
text once, and takes the results back to every row, so a million rows with a
few hundred distinct regimens take about a second.

References
----------
Van Oekelen O et al., Blood 2023;141(7):756-765 (T-cell-engaging therapy =
bispecific antibody or CAR T); REFERENCE.md section 4 (classification tips:
belantamab is BCMA-directed but not TCE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import VocabularyError
from aftercar.schema import Col
from aftercar.vocab.overrides import Override, Overrides, load_overrides
from aftercar.vocab.parser import ParsedRegimen, parse_regimen
from aftercar.vocab.taxonomy import Taxonomy, default_taxonomy, load_taxonomy
from aftercar.vocab.vocabulary import Vocabulary, default_vocabulary

#: Output columns: the contract's eight first, then extras.
COLUMNS = (
    "text",
    Col.DRUGS,
    "procedures",
    Col.CATEGORY,
    Col.TCE,
    Col.BCMA_DIRECTED,
    "targets",
    "unrecognized",
    "annotations",
    "drug_classes",
    "anti_myeloma",
    "mapped_by",
    "corrections",
    "sequence",
    "sequence_steps",
)
#: The eight columns issue 3 names for ``regimens classify`` (a public interface).
CONTRACT_COLUMNS = COLUMNS[:8]
_BOOL_COLUMNS = (Col.TCE, Col.BCMA_DIRECTED, "anti_myeloma", "sequence")


@dataclass(frozen=True)
class Classification:
    """The classification of one regimen text (one output row)."""

    text: str | None
    drugs: str
    procedures: str
    category: str | None
    tce: bool | None
    bcma_directed: bool | None
    targets: str
    unrecognized: str
    annotations: str
    drug_classes: str
    anti_myeloma: bool | None
    mapped_by: str
    corrections: str = ""
    sequence: bool | None = None
    sequence_steps: str = ""


def _join(items: Iterable[str]) -> str:
    return ";".join(items)


@lru_cache(maxsize=16384)
def _flags(names: tuple[str, ...], taxonomy: Taxonomy, vocab: Vocabulary) -> tuple:
    """Category and flags of a set of names (many texts share one set: cached)."""
    known = [vocab.drug(n) for n in names if vocab.knows(n)]
    active = [d for d in known if d.anti_myeloma]
    return (
        taxonomy.categorize(known),
        any(d.tce for d in active),
        any(d.bcma_directed for d in active),
        _join(sorted({t for d in active for t in d.targets})),
        _join(sorted({d.drug_class for d in known})),
        bool(active),
    )


def _from_names(
    text: str,
    names: tuple[str, ...],
    parsed: ParsedRegimen,
    taxonomy: Taxonomy,
    vocab: Vocabulary,
) -> Classification:
    category, tce, bcma, targets, classes, active = _flags(tuple(sorted(names)), taxonomy, vocab)
    return Classification(
        text=text,
        drugs=_join(parsed.drugs),
        procedures=_join(parsed.procedures),
        category=category,
        tce=tce,
        bcma_directed=bcma,
        targets=targets,
        unrecognized=_join(parsed.unrecognized),
        annotations=_join(parsed.annotations),
        drug_classes=classes,
        anti_myeloma=active,
        mapped_by="parser",
        corrections=_join(parsed.corrections),
        sequence=parsed.sequence,
        sequence_steps=" -> ".join("+".join(s) for s in parsed.steps) if parsed.sequence else "",
    )


def _apply_override(
    text: str, o: Override, parsed: ParsedRegimen, taxonomy: Taxonomy, vocab: Vocabulary
) -> Classification:
    drugs = o.drugs if o.drugs is not None else parsed.drugs
    procs = o.procedures if o.procedures is not None else parsed.procedures
    merged = ParsedRegimen(text, tuple(drugs), tuple(procs), parsed.annotations, (), ())
    base = _from_names(text, (*drugs, *procs), merged, taxonomy, vocab)
    unknown = any(not vocab.knows(n) for n in drugs)
    return Classification(
        text=text,
        drugs=base.drugs,
        procedures=base.procedures,
        category=o.category or base.category,
        tce=o.tce if o.tce is not None else base.tce,
        bcma_directed=o.bcma_directed if o.bcma_directed is not None else base.bcma_directed,
        targets=_join(o.targets) if o.targets is not None else base.targets,
        unrecognized="",
        annotations=base.annotations,
        drug_classes=base.drug_classes,
        anti_myeloma=True if unknown else base.anti_myeloma,
        mapped_by=f"override ({o.where})",
        sequence=False,
    )


def classify_text(
    text: str | None,
    *,
    taxonomy: Taxonomy | None = None,
    overrides: Overrides | None = None,
    vocabulary: Vocabulary | None = None,
) -> Classification:
    """Classify one regimen text (see :func:`classify_regimens`)."""
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    if text is None or not str(text).strip():
        return Classification(text, "", "", None, None, None, "", "", "", "", None, "missing")
    text = str(text)
    parsed = parse_regimen(text, vocabulary=vocab)
    override = overrides.get(text) if overrides is not None else None
    if override is not None:
        if override.category is not None and override.category not in tax.names:
            raise VocabularyError(
                f"{override.where}, column 'category': {override.category!r} is not a category "
                f"of {tax.source}. Fix: use one of {', '.join(tax.names)}."
            )
        return _apply_override(text, override, parsed, tax, vocab)
    return _from_names(text, (*parsed.drugs, *parsed.procedures), parsed, tax, vocab)


def _to_arrow(texts: object) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        return texts.combine_chunks()
    if isinstance(texts, pa.Array):
        return texts
    values = texts if hasattr(texts, "dtype") else list(texts)  # type: ignore[call-overload]
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        # mixed types (e.g. numbers among texts): read each value as its text
        return pa.array([None if _missing(v) else str(v) for v in values], type=pa.string())


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except TypeError:  # pandas.NA
        return True


def _as_array(texts: object) -> pa.Array:
    """Return ``texts`` as a pyarrow string array (nulls kept)."""
    arr = _to_arrow(texts)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return arr


def _resolve_options(taxonomy, overrides, vocab) -> tuple[Taxonomy, Overrides | None]:
    tax = (
        taxonomy
        if isinstance(taxonomy, Taxonomy)
        else (default_taxonomy() if taxonomy is None else load_taxonomy(taxonomy, vocabulary=vocab))
    )
    ovr = overrides
    if overrides is not None and not isinstance(overrides, Overrides):
        ovr = load_overrides(overrides, vocabulary=vocab)
    if ovr is not None:
        ovr.check(tax)
    return tax, ovr


def classify_regimens(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray | Iterable[str | None],
    *,
    taxonomy: Taxonomy | str | Path | None = None,
    overrides: Overrides | str | Path | None = None,
    vocabulary: Vocabulary | None = None,
) -> pa.Table:
    """Classify free-text regimens into drugs, procedures, category and flags.

    Parameters
    ----------
    texts
        Regimen texts (list, pandas Series, pyarrow array); nulls allowed.
    taxonomy
        A :class:`Taxonomy` or a TOML path; ``None`` uses the shipped default
        (precedence car_t > bispecific > adc > transplant > alkylator >
        selinexor > venetoclax > anti_cd38 > imid_pi > radiotherapy; else other).
    overrides
        An :class:`Overrides` or a CSV/TOML path mapping texts to drugs/category.
    vocabulary
        The drug vocabulary; ``None`` uses the shipped one.

    Returns
    -------
    pyarrow.Table
        One row per input text, in input order, with columns ``text, drugs,
        procedures, category, tce, bcma_directed, targets, unrecognized`` then
        ``annotations, drug_classes, anti_myeloma, mapped_by``. ``drugs``,
        ``procedures``, ``targets`` and ``unrecognized`` are ``;``-joined
        (drugs as sorted lower-case INNs). ``tce`` = any CAR T or T-cell
        engager; ``bcma_directed`` = any BCMA-directed agent (incl. belantamab);
        ``targets`` = antigens of the anti-myeloma agents. Null or blank text
        gives a null category and null flags.

    Raises
    ------
    VocabularyError
        A taxonomy or override file is malformed, or an override names a
        category the taxonomy does not have.

    Notes
    -----
    Each distinct text is read once (dictionary encoding), then taken back
    to all rows: work grows with the number of distinct texts.
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    tax, ovr = _resolve_options(taxonomy, overrides, vocab)
    arr = _as_array(texts)
    encoded = pc.dictionary_encode(arr)
    uniques = encoded.dictionary.to_pylist()
    rows = [
        classify_text(t, taxonomy=tax, overrides=ovr, vocabulary=vocab) for t in [*uniques, None]
    ]
    return _table(arr, rows, encoded.indices.fill_null(len(uniques)))


def _table(arr: pa.Array, rows: list[Classification], indices: pa.Array) -> pa.Table:
    """Take the per-distinct-text rows back to every input row."""
    columns = {}
    for name in COLUMNS:
        values = [getattr(r, name) for r in rows]
        typ = pa.bool_() if name in _BOOL_COLUMNS else pa.string()
        columns[name] = pa.array(values, type=typ).take(indices)
    columns["text"] = arr
    return pa.table(columns)
