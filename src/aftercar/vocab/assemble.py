"""From tokens to a :class:`~aftercar.vocab.regimen.ParsedRegimen`.

Rules applied after tokenising (each documented in ``docs/vocabulary.md``):

- **Named drugs win over a letter code that explains them** (issue 11): in
  "PDD regimen: pomalidomide, PLD, dexamethasone" or "bortezomib, PLD, dex (VDD)"
  the code is kept as an annotation when the text names two or more drugs, the
  code is next to a parenthesis or a colon, and its letters disagree with them
  (:func:`_disagrees`: a drug in common, and each names one the other does not).
- **Targets join class words of their step**: "BCMA CAR T", "CART-BCMA",
  "anti-BCMA/CD3 bispecific", "BCMA/GPRC5D CAR T" give a class mention aimed at
  those targets; an effector target (CD3) with tumour targets means a
  T-cell-engaging bispecific; tumour targets alone give an
  "unspecified <target>-directed agent" only when the step names no therapy.
- **Class mentions covered by a product are dropped** ("cilta-cel (2nd CAR T)").
- **Sequences**: two or more steps with unplanned anti-myeloma therapy ("Tec ->
  Tal") set ``sequence``; a step with a phase-of-care annotation (maintenance,
  bridging, conditioning...) or a transplant is part of a planned line.
"""

from __future__ import annotations

import re

from aftercar.schema import Col
from aftercar.vocab.regimen import ParsedRegimen, Token
from aftercar.vocab.vocabulary import TARGET_KIND, Drug, Vocabulary

_THERAPY = ("drug", "procedure", Col.REGIMEN)
_NAMED = ("name", "synonym", "corrected")
_CODES = ("letter code", "regimen code")
_PLANNED = ("phase-of-care",)
_MIN_NAMED = 2


def _named_drugs(tokens: list[Token], vocab: Vocabulary) -> set[str]:
    return {
        n
        for t in tokens
        if t.kind == "drug" and t.how.startswith(_NAMED)
        for n in t.names
        if vocab.drug(n).kind == "drug"
    }


def _explained(token: Token, blanked: str) -> bool:
    """The code stands in parentheses or before a colon or an opening parenthesis."""
    at = blanked.find(token.text)
    if at < 0:
        return False
    before = blanked[:at].rstrip()
    after = blanked[at + len(token.text) :].lstrip()
    return before.endswith("(") or after.startswith(("(", ":"))


def _disagrees(code: set[str], named: set[str]) -> bool:
    """A code that restates the named drugs and misreads some: it shares a drug with
    them, names one they do not, and they name one it does not ("PDD: pomalidomide,
    PLD, dexamethasone"). A code with no drug in common is another part of the regimen
    ("belantamab + Pd (DREAMM-8)"); one that holds every named drug says more
    ("VTD-PACE (bortezomib + thalidomide + dexamethasone + PACE)")."""
    return bool(code & named) and not code <= named and not named <= code


#: Arms compared in one text ("KRd vs VRd (ENDURANCE)"): a code is one arm, not an acronym
#: of the drugs the other arm names.
_ARMS = re.compile(r"\b(?:vs\.?|versus)(?=\s)", re.IGNORECASE)


def _arm(token: Token, blanked: str, cuts: list[int]) -> int:
    """The arm of a text comparing arms ("A vs B") that ``token`` stands in (0: the first)."""
    at = blanked.find(token.text)
    return sum(at > c for c in cuts)


def _drop_disagreeing_codes(tokens: list[Token], blanked: str, vocab: Vocabulary) -> list[Token]:
    if len(_named_drugs(tokens, vocab)) < _MIN_NAMED:
        return tokens
    cuts = [m.start() for m in _ARMS.finditer(blanked)]
    arms = [_arm(t, blanked, cuts) for t in tokens]
    out = []
    for t, arm in zip(tokens, arms, strict=True):
        # the drugs named in the code's own arm ("KRd vs VRd (ENDURANCE)": VRd is an arm)
        named = _named_drugs([u for u, a in zip(tokens, arms, strict=True) if a == arm], vocab)
        code = t.kind == Col.REGIMEN and t.how.startswith(_CODES)
        if code and len(named) >= _MIN_NAMED and _disagrees(set(t.names), named) \
                and _explained(t, blanked):  # fmt: skip
            why = f"{t.how} disagrees with the drugs the text names; the named drugs are used"
            t = Token(t.text, "annotation", ("acronym",), why, t.step)
        out.append(t)
    return out


def _fold_formulations(tokens: list[Token], vocab: Vocabulary) -> list[Token]:
    """"Kd + daratumumab + hyaluronidase", "DKd (daratumumab + hyaluronidase)",
    "daratumumab 1800 mg + hyaluronidase": an excipient named right after its drug in the
    step (past the drug's dose or route, or after a code that holds it) is that drug's
    formulation (``[formulations]`` of ``regimen_grammar.toml``: SC daratumumab), as
    "daratumumab and hyaluronidase" is read whole; the "+" between them cuts the text
    into pieces before the ``formulation`` annotation can see them together. Named
    elsewhere, the excipient stays a drug."""
    excipients = (vocab.grammar.formulations if vocab.grammar else None) or {}
    out: list[Token] = []
    last: Token | None = None  # the step's last therapy token before this one
    for t in tokens:
        drug = excipients.get(t.names[0]) if t.kind == "drug" and len(t.names) == 1 else None
        if drug is not None and last is not None and last.step == t.step \
                and drug in last.names:  # fmt: skip
            t = Token(t.text, "annotation", ("formulation",),
                      f"excipient of {drug} named after it: one formulation", t.step)  # fmt: skip
        elif t.kind in _THERAPY:
            last = t
        out.append(t)
    return out


def _generic(drug: Drug, vocab: Vocabulary) -> Drug | None:
    word = vocab.grammar.class_mentions.get(drug.drug_class) if vocab.grammar else None
    name = f"unspecified {word}" if word else None
    return vocab.drugs.get(name) if name else None


def _link_step(names: set[str], targets: list[str], vocab: Vocabulary) -> set[str]:
    """Aim the class mentions of one step at the step's tumour targets."""
    roles = vocab.target_roles
    tumour = sorted({t for t in targets if roles.get(t) == "tumour"})
    if not tumour:
        return names
    drugs = [vocab.drug(n) for n in names]
    mentions = [d for d in drugs if d.unspecified and _generic(d, vocab) is not None]
    if mentions:
        out = names - {d.name for d in mentions}
        for d in mentions:
            aim = tuple(sorted(set(d.targets) | set(tumour)))
            out.add(vocab.targeted_mention(_generic(d, vocab), aim).name)
        return out
    if any(roles.get(t) == "effector" for t in targets):
        base = vocab.drugs.get("unspecified bispecific")
        return names | {vocab.targeted_mention(base, tuple(tumour)).name}
    if names:  # "Tec (BCMA)": a target beside named therapy only describes it
        return names
    return {vocab.targeted_mention(None, tuple(tumour)).name}


_CHEMO = "unspecified chemotherapy"


def _drop_unspecified(names: set[str], vocab: Vocabulary) -> set[str]:
    """Drop class mentions ("CAR T") covered by a named agent of that class."""
    if not any(n.startswith("unspecified ") for n in names):
        return names
    named = [vocab.drug(n) for n in names if not vocab.drug(n).unspecified]
    mention = vocab.grammar.class_mentions if vocab.grammar else {}
    keep = set()
    for n in names:
        d = vocab.drug(n)
        # a class mention is covered by an agent its word names ("trispecific" agents are
        # mentioned as bispecifics: "ISB 2001 trispecific TCE")
        covered = d.unspecified and any(
            mention.get(o.drug_class, o.drug_class) == mention.get(d.drug_class, d.drug_class)
            and set(d.targets) <= set(o.targets) for o in named
        )  # fmt: skip
        # "chemotherapy" beside named agents describes them ("Chemo regimen: Pd", SEER*Rx
        # files bortezomib under chemotherapy; a ninth probe of real regimen strings)
        covered = covered or (n == _CHEMO and any(o.role == "anti_myeloma" for o in named))
        if not covered:
            keep.add(n)
    return keep


def _describes_named(tokens: list[Token], i: int, vocab: Vocabulary) -> bool:
    """Whether the target ``tokens[i]`` only describes the named drug read just before it
    ("Tal (GPRC5D) prior to BCMA CAR-T": GPRC5D is talquetamab's, not the CAR T's; a
    twelfth probe of real regimen strings, session 28, read a BCMA/GPRC5D CAR T), unless
    a class mention without a target of its own follows it ("Tec + BCMA CAR-T": BCMA aims
    the CAR T)."""
    t = tokens[i]
    after = next((u for u in tokens[i + 1:] if u.kind in _THERAPY or u.kind == TARGET_KIND), None)
    unaimed = after is not None and after.kind in _THERAPY and after.step == t.step and any(
        vocab.drug(n).unspecified and not vocab.drug(n).targets for n in after.names)
    if unaimed:
        return False
    before = next((u for u in reversed(tokens[:i]) if u.kind in _THERAPY), None)
    if before is None or before.step != t.step:
        return False
    aims = {x for n in t.names for x in vocab.drug(n).targets[:1]}
    return any(not vocab.drug(n).unspecified and aims <= set(vocab.drug(n).targets)
               for n in before.names)  # fmt: skip


def _step_names(tokens: list[Token], vocab: Vocabulary) -> dict[int, set[str]]:
    steps: dict[int, set[str]] = {}
    targets: dict[int, list[str]] = {}
    for i, t in enumerate(tokens):
        if t.kind in _THERAPY:
            steps.setdefault(t.step, set()).update(t.names)
        elif t.kind == TARGET_KIND and not _describes_named(tokens, i, vocab):
            targets.setdefault(t.step, []).extend(vocab.drug(n).targets[0] for n in t.names)
    for step, found in targets.items():
        steps[step] = _link_step(steps.get(step, set()), found, vocab)
    _annotated(steps, tokens, vocab)
    return {s: _drop_unspecified(n, vocab) for s, n in steps.items() if n}


def _annotated(steps: dict[int, set[str]], tokens: list[Token], vocab: Vocabulary) -> None:
    """What annotations say of their step's therapy (``implies`` and ``reads`` of
    ``regimen_grammar.toml``): "30 Gy/10 fx to R femur" is radiotherapy; "MUD SCT" reads the
    unspecified transplant as allogeneic; "KRd w/o dex" has no dexamethasone."""
    rules = {a.label: a for a in (vocab.grammar.annotations if vocab.grammar else ())
             if a.implies or a.reads or a.drops}  # fmt: skip
    for t in tokens:
        rule = rules.get(t.names[0]) if t.kind == "annotation" else None
        if rule is None:
            continue
        names = steps.setdefault(t.step, set())
        if rule.implies:
            names.add(rule.implies)
        for old, new in rule.reads:
            if old in names:
                names.discard(old)
                names.add(new)
        names.difference_update(rule.drops)


def _alone(tokens: list[Token], vocab: Vocabulary) -> set[str]:
    """What a text naming no therapy but its annotations reads as (``[alone]`` of
    ``regimen_grammar.toml``): "Talvey declined" is no treatment; "CAR-T cancelled", a plan or
    an allergy note stay nothing read."""
    alone = vocab.grammar.alone if vocab.grammar else None
    if alone is None:
        return set()
    return {alone.therapy for t in tokens if t.kind == "annotation"
            and t.names[:1] == (alone.label,) and alone.pattern.search(t.text)}  # fmt: skip


def _line_like(names: set[str], planned: bool, vocab: Vocabulary) -> bool:
    drugs = [vocab.drug(n) for n in names]
    if planned or any(d.kind == "procedure" and d.drug_class == "transplant" for d in drugs):
        return False
    return any(d.role == "anti_myeloma" for d in drugs)


def _sequence(steps: dict[int, set[str]], tokens: list[Token], order: list[int], vocab) -> bool:
    if len(steps) < _MIN_NAMED:
        return False
    planned = {t.step for t in tokens if t.kind == "annotation" and t.names[0] in _PLANNED}
    line_like = [s for s in order if s in steps and _line_like(steps[s], s in planned, vocab)]
    return len(line_like) >= _MIN_NAMED


def _number_unrecognized(token: Token) -> Token:
    if token.kind == "annotation" and token.names == ("number",):
        return Token(token.text, "unrecognized", (), "a bare number without any drug", token.step)
    return token


def assemble(
    text: str, tokens: list[Token], blanked: str, order: list[int], vocab: Vocabulary
) -> ParsedRegimen:
    """Apply the rules of this module to the tokens of ``text``."""
    tokens = _drop_disagreeing_codes(_fold_formulations(tokens, vocab), blanked, vocab)
    steps = _step_names(tokens, vocab)
    names = set().union(*steps.values()) if steps else set()
    names = _drop_unspecified(names, vocab) or _alone(tokens, vocab)
    if names and not steps:
        steps = {tokens[0].step: set(names)}
    if not names:  # a number means something only next to a drug
        tokens = [_number_unrecognized(t) for t in tokens]
    return ParsedRegimen(
        text=text,
        drugs=tuple(sorted(n for n in names if vocab.drug(n).kind == "drug")),
        procedures=tuple(sorted(n for n in names if vocab.drug(n).kind == "procedure")),
        annotations=tuple(f"{t.names[0]}: {t.text}" for t in tokens if t.kind == "annotation"),
        # adjacent unknown words are one piece; the blanked annotations between them
        # (spaces that keep the offsets) are shown as one space: "in treated"
        unrecognized=tuple(" ".join(t.text.split()) for t in tokens if t.kind == "unrecognized"),
        tokens=tuple(tokens),
        corrections=tuple(
            f"{t.text} -> {'+'.join(t.names)}" for t in tokens if t.how.startswith("corrected")
        ),
        steps=tuple(tuple(sorted(steps[s])) for s in order if s in steps),
        sequence=_sequence(steps, tokens, order, vocab),
    )
