"""Drug roles of order texts and canonical CAR-T products.

:func:`drug_roles` tells anti-myeloma agents from supportive drugs in raw
administration texts ("DARZALEX FASPRO", "dexAMETHasone tab", "acyclovir 400 mg
PO BID"): it is what a line-of-therapy derivation from raw records needs.
:func:`car_t_products` reads ``patients.car_t_product``-style texts ("ide-cel",
"Ide-cel", "Abecma", "bb2121") into one canonical product. Both read each
distinct text once.

Roles (``role`` column of ``drugs.csv``): ``anti_myeloma``; ``steroid``
(dexamethasone, prednisone: anti-myeloma backbones that RWD line rules usually
ignore); ``lymphodepletion`` (fludarabine); ``premedication``; ``supportive``
(bone agents, IVIG, G-CSF, antivirals, tocilizumab...); ``non_therapy``.

References
----------
REFERENCE.md section 4 (classification tips) and section 5.5 (drugs ignored for
line advancement: steroids, bone agents, supportive drugs, G-CSF, IVIG).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import Problem
from aftercar.schema import Col
from aftercar.vocab.classify import _as_array
from aftercar.vocab.parser import parse_regimen
from aftercar.vocab.vocabulary import ROLES, Drug, Vocabulary, default_vocabulary

_ROLE_COLUMNS = (
    "text",
    "ingredients",
    "role",
    "anti_myeloma",
    "drug_classes",
    "known",
    "unrecognized",
)
_PRODUCT_COLUMNS = ("text", "product", "label", "known", "how", "message")
_BOOLS = ("anti_myeloma", "known")


def _by_distinct(texts: object, per_text, columns: tuple[str, ...]) -> pa.Table:
    arr = _as_array(texts)
    encoded = pc.dictionary_encode(arr)
    uniques = encoded.dictionary.to_pylist()
    rows = [per_text(t) for t in uniques] + [per_text(None)]
    indices = encoded.indices.fill_null(len(uniques))
    out = {}
    for i, name in enumerate(columns[1:], start=1):
        typ = pa.bool_() if name in _BOOLS else pa.string()
        out[name] = pa.array([r[i - 1] for r in rows], type=typ).take(indices)
    return pa.table({"text": arr, **out})


def _agents(text: str, vocab: Vocabulary) -> tuple[list[Drug], tuple[str, ...]]:
    parsed = parse_regimen(text, vocabulary=vocab)
    names = (*parsed.drugs, *parsed.procedures)
    return [vocab.drug(n) for n in names], parsed.unrecognized


def _role_row(text: str | None, vocab: Vocabulary) -> tuple:
    if text is None or not text.strip():
        return ("", None, None, "", False, "")
    drugs, unknown = _agents(text, vocab)
    if not drugs:
        return ("", None, None, "", False, ";".join(unknown))
    role = min((d.role for d in drugs), key=ROLES.index)  # the strongest role
    return (
        ";".join(sorted(d.name for d in drugs)),
        role,
        any(d.anti_myeloma for d in drugs),
        ";".join(sorted({d.drug_class for d in drugs})),
        True,
        ";".join(unknown),
    )


def drug_roles(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    *,
    vocabulary: Vocabulary | None = None,
) -> pa.Table:
    """Say which drug texts are anti-myeloma agents and which are supportive.

    Parameters
    ----------
    texts
        Drug or order texts as written in administration records, one per row
        (e.g. ``"DARZALEX FASPRO"``, ``"daratumumab-hyaluronidase-fihj"``,
        ``"ZOMETA"``, ``"acetaminophen 650 mg PO"``); nulls allowed.
    vocabulary
        The vocabulary; ``None`` uses the shipped one.

    Returns
    -------
    pyarrow.Table
        One row per input, in order: ``text``; ``ingredients`` (``;``-joined
        vocabulary names, e.g. ``"daratumumab;hyaluronidase"``); ``role`` (the
        strongest role among them, in the order of
        :data:`~aftercar.vocab.vocabulary.ROLES`: ``anti_myeloma`` >
        ``steroid`` > ``lymphodepletion`` > ``premedication`` > ``supportive``
        > ``non_therapy``; null when nothing is known); ``anti_myeloma`` (any
        ingredient is an anti-myeloma agent, steroids included; null when
        nothing is known); ``drug_classes``; ``known`` (at least one ingredient
        recognised); ``unrecognized`` (words not understood).

    Examples
    --------
    >>> drug_roles(["DARZALEX FASPRO", "ZOMETA"]).column("anti_myeloma").to_pylist()
    [True, False]
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    return _by_distinct(texts, lambda t: _role_row(t, vocab), _ROLE_COLUMNS)


def _how(text: str, drug: Drug, vocab: Vocabulary) -> str:
    parsed = parse_regimen(text, vocabulary=vocab)
    hows = [t.how for t in parsed.tokens if drug.name in t.names]
    return hows[0] if hows else "read"


def _product_row(text: str | None, vocab: Vocabulary) -> tuple:
    if text is None or not text.strip():
        return (None, None, None, "", "")
    drugs, _ = _agents(text, vocab)
    cars = [d for d in drugs if d.drug_class == "car_t"]
    named = [d for d in cars if not d.unspecified]
    if len(named) == 1:
        d = named[0]
        how = _how(text, d, vocab)
        message = f"{text!r} read as {d.name} ({how})" if how.startswith("corrected") else ""
        return (d.name, d.label, True, how, message)
    if len(named) > 1:
        names = ", ".join(sorted(d.name for d in named))
        return (
            None,
            None,
            False,
            "several products",
            f"{text!r} names several CAR-T products: {names}",
        )
    if cars:
        return (None, None, False, "class only", f"{text!r} names a kind of CAR T but no product")
    return (None, None, False, "unknown", f"{text!r} is not a known CAR-T product")


def car_t_products(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    *,
    vocabulary: Vocabulary | None = None,
) -> pa.Table:
    """Normalise CAR-T product texts to one canonical product.

    ``"ide-cel"``, ``"Ide-cel"``, ``"Abecma"``, ``"idecabtagene vicleucel"`` and
    ``"bb2121"`` all give ``idecabtagene vicleucel``; ``"cilta-cel"``,
    ``"Carvykti"``, ``"JNJ-4528"``, ``"LCAR-B38M"`` give ``ciltacabtagene
    autoleucel``; misspellings are corrected as in regimen texts.

    Parameters
    ----------
    texts
        Product texts, one per row (nulls allowed).
    vocabulary
        The vocabulary; ``None`` uses the shipped one.

    Returns
    -------
    pyarrow.Table
        One row per input: ``text``; ``product`` (the INN, or the research code
        of an agent without one; null when unknown); ``label`` (short display
        name such as ``"ide-cel"``); ``known`` (null for a blank text);
        ``how`` (name, synonym, corrected ...); ``message`` (why a product is
        unknown or was corrected; empty otherwise).
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    return _by_distinct(texts, lambda t: _product_row(t, vocab), _PRODUCT_COLUMNS)


def product_problems(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    rows: Sequence[int | None],
    *,
    file: str | None,
    column: str = Col.CAR_T_PRODUCT,
    vocabulary: Vocabulary | None = None,
) -> list[Problem]:
    """Warnings for a CAR-T product column: unknown products and merged spellings.

    ``car-t-product-unknown``: one warning per row whose product is not known.
    ``car-t-product-merged``: one warning per canonical product written in two or
    more ways ("ide-cel", "Ide-cel", "Abecma"), naming the spellings, at the first
    row of the product. Corrected misspellings are named in the merge warning.
    """
    table = car_t_products(texts, vocabulary=vocabulary)
    row_list = list(rows)
    unknown = np.flatnonzero(pc.fill_null(pc.equal(table["known"], False), False).to_numpy(False))
    texts_, messages = table["text"].to_pylist(), table["message"]
    out = [
        Problem(
            file,
            row_list[k],
            column,
            texts_[k],
            messages[int(k)].as_py(),
            "write a known product name or add it to the vocabulary",
            "warning",
            "car-t-product-unknown",
        )
        for k in unknown
    ]
    known = table.append_column("row", pa.array(np.arange(table.num_rows))).filter(
        pc.fill_null(table["known"], False)
    )
    pairs = known.group_by(["product", "text"]).aggregate([("row", "min")])
    for product in pc.unique(pairs["product"]).to_pylist():
        mine = pairs.filter(pc.equal(pairs["product"], product)).sort_by("row_min")
        if mine.num_rows > 1:
            first = int(mine["row_min"][0].as_py())
            listed = ", ".join(repr(t) for t in mine["text"].to_pylist())
            out.append(
                Problem(
                    file,
                    row_list[first],
                    column,
                    texts_[first],
                    f"{listed} are the same product ({product}); merged",
                    "nothing to do unless one of them is a different product",
                    "warning",
                    "car-t-product-merged",
                )
            )
    return sorted(out, key=lambda p: (p.row is None, p.row or 0))
