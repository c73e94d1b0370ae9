"""Every SQL statement a derivation takes from the process's memo of compiled expressions
(``aftercar.backends.compiled``) is the statement its expression compiles to, and each
SQL text it prints once (for ``compile`` and ``create_table``) is the text Ibis prints.

The hand-made instance is derived as Parquet, then as CSV (other files, other connection,
tables of the same names): each statement of the second derivation that comes from the
memo is compared with a fresh compilation of its expression, and the derivation gives the
hand-made answers.
"""

from __future__ import annotations

import sqlglot as sg
from handmade import LOCAL_TOML, write
from test_handmade import _as_expected

from aftercar.backends import compiled, connect
from aftercar.backends.compiled import CompiledMemo
from aftercar.derive.omop import derive_omop


class _Checking(CompiledMemo):
    """A memo that, once ``checking``, compares each statement it gives from memory with a
    fresh compilation."""

    def __init__(self) -> None:
        super().__init__()
        self.checking = False
        self.checked: list[str] = []

    def compile(self, inner, expr, *args, **kwargs):
        compiled = []

        class Counting:  # the compiler, noting whether the memo had to compile
            def __getattr__(self, name):
                return getattr(inner, name)

            def to_sqlglot(self, *a, **k):
                compiled.append(True)
                return inner.to_sqlglot(*a, **k)

        got = super().compile(Counting(), expr, *args, **kwargs)
        if self.checking and not compiled:  # from the memo
            want = inner.to_sqlglot(expr, *args, **kwargs)
            assert got.sql(inner.dialect) == want.sql(inner.dialect), expr
            self.checked.append(got.sql(inner.dialect))
        return got

    def text(self, inner, expr, *args, **kwargs):
        got = super().text(inner, expr, *args, **kwargs)
        if self.checking:  # what compile() and create_table() print: as the fresh tree prints
            want = inner.to_sqlglot(expr, *args, **kwargs)
            into = sg.table("target", quoted=True)
            columns = [sg.to_identifier(c, quoted=True) for c in expr.columns]
            assert got.sql(inner.dialect) == want.sql(inner.dialect), expr
            assert sg.insert(got, into=into, columns=columns).sql(inner.dialect) == \
                sg.insert(want, into=into, columns=columns).sql(inner.dialect)  # fmt: skip
            self.checked.append(got.sql(inner.dialect))
        return got


def test_statements_from_the_memo_are_those_their_expressions_compile_to(tmp_path, monkeypatch):
    memo = _Checking()
    monkeypatch.setattr(compiled, "MEMO", memo)
    (tmp_path / "local.toml").write_text(LOCAL_TOML, encoding="utf-8")
    runs = {}
    for fmt in ("parquet", "csv"):
        memo.checking = fmt == "csv"
        runs[fmt] = derive_omop(write(tmp_path / fmt, fmt), con=connect("duckdb"),
                                concepts=tmp_path / "local.toml")  # fmt: skip
    assert len(memo) > 50 and len(set(memo.checked)) > 50  # most statements came from it
    d = runs["csv"]
    _as_expected(d.result.patients.to_pylist(), d.result.lines.to_pylist(),
                 d.cohort_steps["persons"].to_pylist())  # fmt: skip
