"""Raw rows -> classified events: drug texts to ingredients, procedures to kinds.

Each distinct order, procedure or test text is read once in Python (a few hundred
texts, never a loop over rows) through the public vocabulary
(:func:`aftercar.vocab.parse_regimen`), into a small lookup table that is joined
to the rows as an Ibis expression.

Roles of an administration (one row per administration x ingredient):

``anchor``
    an anti-myeloma drug that starts, extends or advances a line;
``car_t``
    a CAR-T product (the line is the CAR-T bundle at the infusion date);
``steroid``
    a drug of vocabulary role ``steroid`` (dexamethasone, prednisone, prednisolone,
    methylprednisolone) given without a premedication mark: part of the drugs of the
    line it is given in, never starts or extends one;
``supportive``
    vocabulary roles ``supportive``, ``premedication``, ``lymphodepletion`` and
    ``non_therapy`` of ``data/drugs.csv`` (antivirals, antipyretics, antihistamines,
    bone agents, IVIG, tocilizumab, growth factors, fludarabine...; each row with its
    source): "not anti-myeloma" in the attrition;
``not_given``
    any agent of an order text saying the dose was not given ("teclistamab - HELD",
    ``not_given_pattern`` of ``lot_rules.toml``);
``context``
    an anti-myeloma agent an order text names after its first, supportive agent
    ("acyclovir ... while on teclistamab": ``context_after_supportive``);
``premedication``, ``lymphodepletion``, ``conditioning``, ``unrecognised``
    never start, extend or advance a line (issue 12 item 2; REFERENCE 5.5 "ignore for
    advancement"); lymphodepletion (Flu/Cy on days -7..0 of a CAR-T infusion) and
    conditioning (melphalan on days -7..0 of an autologous transplant) are set later,
    in :mod:`aftercar.derive.raw.bundles`.

References
----------
OHDSI ETL-LambdaBuilder, MM treatment episodes (drug list without steroids);
Rajkumar SV et al., Blood 2015;126:921; REFERENCE section 4 (supportive drugs).
"""

from __future__ import annotations

import re

import ibis
import pyarrow as pa

from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col
from aftercar.vocab import default_vocabulary, parse_regimen

_WORD = re.compile(r"[a-z]+")


def _drugs_of(text: str) -> tuple[str, ...]:
    """Vocabulary entries of an order text (anti-myeloma or not); word by word when the
    whole text gives none."""
    drugs = parse_regimen(text).drugs
    if drugs:
        return drugs
    return tuple(sorted({d for w in _WORD.findall(text.lower()) for d in parse_regimen(w).drugs}))


#: Vocabulary role (``drugs.csv``) -> role of an administration. Steroids are decided by the
#: premedication pattern; CAR-T products by their drug class.
_ROLE = {"anti_myeloma": "anchor", "lymphodepletion": "supportive",
         "premedication": "supportive", "supportive": "supportive",
         "non_therapy": "supportive"}  # fmt: skip


#: Vocabulary roles of a first agent that make the anti-myeloma agents after it context
#: ("dexamethasone ... (ICANS after teclistamab)": a steroid for a toxicity, hand-made
#: patients, sixth probe, 2026-12-06).
_SUPPORT_FIRST = ("supportive", "premedication", "non_therapy", "steroid")


def _context_agents(text: str, rules: Rules) -> set[str]:
    """Anti-myeloma agents an order text names only as the context of its first, supportive
    agent: after ``context_pattern`` ("acyclovir ... prophylaxis while on teclistamab";
    ``[administrations]`` of ``lot_rules.toml``)."""
    if not rules.get("administrations", "context_after_supportive"):
        return set()
    m = re.search(rules.get("administrations", "context_pattern"), text, re.IGNORECASE)
    if m is None:
        return set()
    vocab = default_vocabulary()
    named = [t.names for t in parse_regimen(text[:m.start()]).tokens
             if t.kind == "drug" and t.names]  # fmt: skip
    if not named or not all(vocab.drug(n).role in _SUPPORT_FIRST for n in named[0]):
        return set()
    after = parse_regimen(_context_tail(text, m.start(), m.end())).drugs
    return {n for n in after if vocab.drug(n).role == "anti_myeloma"}


def _car_t_mentions(text: str, rules: Rules) -> set[str]:
    """CAR-T products an order names after another agent: a mention of the patient's CAR T
    ("tocilizumab 8 mg/kg IV (CRS after cilta-cel)", "teclistamab ... (bridging prior to
    CAR-T)", "etoposide ... (per CAR-T team)"), never its infusion, which an order of its
    own records (hand-made patients, sixth probe, 2026-12-06: each was a one-day CAR-T
    line, one moving the index six months). Each order of a combined text is read on its
    own ("Diphenhydramine premed; ide-cel infusion" keeps the infusion). An order naming
    a phase before the infusion (``car_t_phase_pattern``: "cilta-cel lymphodepletion day
    -7", "ide-cel bridging") mentions every CAR T it names. Off with
    ``context_after_supportive``."""
    if not rules.get("administrations", "context_after_supportive"):
        return set()
    vocab = default_vocabulary()
    mentioned: set[str] = set()
    ordered: set[str] = set()  # named first by an order: its infusion
    for order in re.split(r"[;|+\n]", text):
        named = [t.names for t in parse_regimen(order).tokens if t.kind == "drug" and t.names]
        if not named:
            continue
        cars = {n for names in named for n in names if vocab.drug(n).drug_class == "car_t"}
        if _pre_infusion(order, rules):  # lymphodepletion, bridging: a mention
            mentioned |= cars
            continue
        ordered |= cars & set(named[0])
        if not all(vocab.drug(n).drug_class == "car_t" for n in named[0]):
            mentioned |= cars - set(named[0])
    return mentioned - ordered


def _pre_infusion(order: str, rules: Rules) -> bool:
    """Whether an order names a phase before a CAR-T infusion (``car_t_phase_pattern``) and
    not the infusion itself (``car_t_infusion_pattern``)."""
    get = rules.get
    return bool(re.search(get("administrations", "car_t_phase_pattern"), order, re.IGNORECASE)
                and not re.search(get("administrations", "car_t_infusion_pattern"), order,
                                  re.IGNORECASE))  # fmt: skip


def _context_tail(text: str, start: int, end: int) -> str:
    """The text a context word governs: to the closing parenthesis when it stands in one
    ("(HSV prophylaxis, teclistamab)"; not "(PJP ppx) + teclistamab"), else to the next
    order of a combined text ("acyclovir prophylaxis; daratumumab", "... + carfilzomib")."""
    tail = text[end:]
    if text[:start].count("(") > text[:start].count(")"):
        return tail.split(")", 1)[0]
    return re.split(r"[;|+\n]", tail, maxsplit=1)[0]


def _role(d, premed: bool) -> str:
    if d.role == "steroid":
        return "premedication" if premed else "steroid"
    return "car_t" if d.drug_class == "car_t" else _ROLE.get(d.role, "supportive")


def _text_rows(text: str, rules: Rules) -> list[dict]:
    vocab = default_vocabulary()
    premed = re.search(rules.get("steroids", "premedication_pattern"), text, re.IGNORECASE)
    held = re.search(rules.get("administrations", "not_given_pattern"), text, re.IGNORECASE) \
        and not re.search(rules.get("administrations", "not_given_unless_pattern"), text,
                          re.IGNORECASE)  # fmt: skip
    context = _context_agents(text, rules) | _car_t_mentions(text, rules)
    mob = re.search(rules.get("transplant", "mobilisation_pattern"), text, re.IGNORECASE)
    mob_names = rules.get("transplant", "mobilisation_ingredients") if mob else ()
    rows = []
    for name in _drugs_of(text):
        d = vocab.drugs.get(name)
        if d is None or d.kind != "drug":
            continue
        role = "not_given" if held else "context" if name in context else _role(d, bool(premed))
        if role == "anchor" and name in mob_names:
            role = "mobilisation"
        rows.append({"drug": text, "ingredient": name, "drug_class": d.drug_class, "role": role})
    if rows:
        return rows
    return [{"drug": text, "ingredient": None, "drug_class": None, "role": "unrecognised"}]


def given_car_t(text: str, rules: Rules) -> bool:
    """Whether an administration text records a CAR-T product given: one of its
    ingredients has the role ``car_t`` (not a dose recorded as not given, "CARVYKTI
    infusion - cancelled", nor a product named only as the context of another order,
    "acyclovir prophylaxis (cilta-cel)"), as :func:`drug_lookup` reads it."""
    return any(r["role"] == "car_t" for r in _text_rows(text, rules))


def car_t_products(text: str | None) -> list:
    """The CAR-T products (vocabulary :class:`~aftercar.vocab.vocabulary.Drug` entries,
    a bare "CAR-T" included) a text names; one parse for :func:`car_t_reading` and the OMOP
    index product (:mod:`aftercar.derive.omop.cohort`)."""
    vocab = default_vocabulary()
    drugs = parse_regimen(re.sub(r"\s*\+\s*", " + ", text)).drugs if text else ()
    return [d for d in map(vocab.drug, drugs) if d.drug_class == "car_t"]


def car_t_reading(text: str | None) -> str | None:
    """What a product text says of its CAR T (vocabulary): ``"bcma"`` (names a
    BCMA-directed product), ``"unspecified"`` (a bare "CAR-T" and no BCMA-directed one),
    ``"other"`` (named CAR-T products, none BCMA-directed: "tisagenlecleucel",
    "MCARH109"); ``None``: no CAR-T product. One reading for the raw records' index
    product and the OMOP drug texts of the cohort definition."""
    cars = car_t_products(text)
    if not cars:
        return None
    if any(d.bcma_directed for d in cars):
        return "bcma"
    return "unspecified" if any(d.unspecified and not d.targets for d in cars) else "other"


def non_bcma_products(texts: list[str | None]) -> pa.Table:
    """``product``: the texts that name CAR-T products, each named (not a bare "CAR-T") and
    none BCMA-directed ("tisagenlecleucel", "MCARH109", a CD19 CAR T)."""
    out = [t for t in texts if car_t_reading(t) == "other"]
    return pa.table({"product": pa.array(out, pa.string())})


def drug_lookup(texts: list[str], rules: Rules) -> pa.Table:
    """Return ``drug, ingredient, drug_class, role`` for each distinct order text.

    A text naming several agents ("Tec-Dara") gives one row per ingredient.
    """
    rows = [r for t in texts for r in _text_rows(t, rules)]
    schema = pa.schema([("drug", pa.string()), ("ingredient", pa.string()),
                        ("drug_class", pa.string()), ("role", pa.string())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


_LYMPHODEPLETION = re.compile(r"lymphodeplet", re.IGNORECASE)
#: The annotation label (``regimen_grammar.toml``) of the CAR-T handling steps (CPT 38226,
#: 38227): procedures of kind ``car_t_handling``, which no line reads.
_HANDLING = "car-t handling"


def _procedure_kind(text: str) -> str:
    if _LYMPHODEPLETION.search(text):
        return "lymphodepletion"
    vocab = default_vocabulary()
    parsed = parse_regimen(text)
    if any(a.startswith(f"{_HANDLING}:") for a in parsed.annotations):
        return "car_t_handling"  # a CAR-T product's transport or preparation: no infusion
    for name in parsed.procedures:
        cls = vocab.drug(name).drug_class
        if name == "apheresis":
            return "apheresis"
        if cls == "transplant":
            return "allo_transplant" if name.startswith("allogeneic") else "transplant"
        if cls == "radiotherapy":
            return "radiotherapy"
    if any(vocab.drug(n).drug_class == "car_t" for n in parsed.drugs):
        return "car_t_infusion"
    planning = any(a.startswith("planning:") for a in parsed.annotations)
    return "supportive" if parsed.procedures or planning else "unrecognised"


def procedure_lookup(texts: list[str]) -> pa.Table:
    """Return ``procedure, kind`` for each distinct procedure text.

    ``product``: for an infusion, the CAR-T product it names (:func:`_infused_product`).
    Kinds: apheresis, lymphodepletion, car_t_infusion, car_t_handling (a product's
    transport or preparation, CPT 38226 / 38227: not part of any line), transplant
    (autologous or unspecified), allo_transplant, radiotherapy, supportive (a text the
    vocabulary reads as neither: plasmapheresis, a stem cell boost, radiotherapy planning,
    no treatment; part of no line), unrecognised.
    """
    kinds = [_procedure_kind(t) for t in texts]  # typed: no rows must still be text columns
    products = [_infused_product(t) if k == "car_t_infusion" else None
                for t, k in zip(texts, kinds, strict=True)]  # fmt: skip
    return pa.table({"procedure": pa.array(texts, pa.string()),
                     "kind": pa.array(kinds, pa.string()),
                     "product": pa.array(products, pa.string())})  # fmt: skip


def _infused_product(text: str) -> str | None:
    """The CAR-T product an infusion's procedure text names (a named one before a bare
    "CAR-T", read as ``unspecified car t``): the drug of its line, as an administration row
    naming the product gives it (a hand-made raw probe, session 26: "CARVYKTI
    (ciltacabtagene autoleucel) infusion" as a procedure gave a line without its product)."""
    cars = sorted(car_t_products(text), key=lambda d: (d.unspecified, d.name))
    return cars[0].name if cars else None


def classify_administrations(con, adm: ibis.Table, rules: Rules) -> ibis.Table:
    """Join each administration to its ingredients and roles.

    Returns one row per administration x ingredient with ``patient_id, date, row,
    ingredient, drug_class, role, end_date`` (``role`` as in the module docstring;
    ``end_date``: the last day of a continued exposure, null when not given).
    """
    texts = adm.select("drug").distinct().to_pyarrow()["drug"].to_pylist()
    look = con.create_table("_drug_lookup", drug_lookup(texts, rules), overwrite=True)
    j = adm.join(look, "drug")
    end = j.end_date.cast("date") if Col.END_DATE in adm.columns else ibis.null("date")
    return j.select(Col.PATIENT_ID, "date", "row", "ingredient", "drug_class", "role",
                    end_date=end)  # fmt: skip


def classify_procedures(con, proc: ibis.Table) -> ibis.Table:
    """Join each procedure row to its kind (``patient_id, date, row, procedure, kind,
    product``)."""
    texts = proc.select("procedure").distinct().to_pyarrow()["procedure"].to_pylist()
    look = con.create_table("_procedure_lookup", procedure_lookup(texts), overwrite=True)
    return proc.join(look, "procedure").select(Col.PATIENT_ID, "date", "row", "procedure", "kind",
                                               "product")  # fmt: skip
