"""Each distinct Ibis expression compiled to SQL once per process.

Compiling is a pure function of an expression's structure: its operations, literals, and
the names, schemas and namespaces of the tables it reads. The connection a table belongs
to takes no part in the SQL, nor do the serial numbers Ibis gives each ``.view()`` (the
compiler names relations ``t0, t1, ...`` in the order it meets them). A derivation builds
the same ~120 expressions for every batch and every run over tables of fixed names, so
their SQL can be compiled once and reused by every connection of the process: about half
of a small derivation's time went to compiling (on the order of 5 s of 10).

:class:`CompiledMemo` keys an expression by its *shape*: every node of its graph is
interned as its type and arguments, each child replaced by the child's interned number,
the table's connection left out, and each ``.view()`` serial number replaced by the order
in which the walk meets it. Two expressions of equal shape compile to equal SQL on
compilers of the same SQL dialect. Expressions over in-memory tables (``ibis.memtable``) are not
kept: their tables are registered per connection under names of their own, and their key
would hold their data. Ibis options that change how SQL is written are not part of the key
(aftercar changes none while it runs).

Printing a compiled tree costs about as much again, so the memo also keeps each
expression's SQL *text*, printed once: a connection's ``compile`` (the SQL of every query,
and of Spark's ``create_table``, and of DuckDB's in the one statement of
:func:`aftercar.backends.duckdb.one_statement_tables`) and Ibis's own DuckDB
``create_table`` (which puts the tree into an ``INSERT`` and prints it: data, schemas,
temporary tables) receive a node that prints as that text. Anything else asking the
compiler for a tree still gets a tree (a copy it may change). Measured on the tests'
hand-made OMOP instance, a ``derive --omop`` after the first in a process (2026-12-07, 2
cores, 16 of each, alternated with the code before): 5.9 s -> 4.7 s on average.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import ibis.expr.operations as ops
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend
from ibis.common.graph import Graph, Node


class _NotKept(Exception):
    """An expression whose SQL is not kept: it reads an in-memory table (an unhashable
    argument raises TypeError, kept out the same way)."""


class CompiledMemo:
    """Compiled SQL (``sqlglot`` trees) by expression shape, shared by connections.

    Parameters
    ----------
    size
        Most compiled expressions kept; the oldest is forgotten first.
    nodes
        Most interned node shapes; beyond it both tables start again empty (the
        compiled entries are keyed by interned numbers).

    Each hit is a copy, as callers may change what they receive. Thread-safe. Measured
    after two derivations of the tests' hand-made OMOP instance (2026-12-06): 128
    compiled expressions held 24 MB (~190 KB each), 10,406 node shapes 1.9 MB, so the
    defaults hold at most ~60 MB and ~20 MB: a derivation's ~130 statements twice over.
    """

    def __init__(self, size: int = 300, nodes: int = 100_000) -> None:
        self.size = size
        self.nodes = nodes
        self._lock = threading.Lock()
        self._shapes: dict[tuple, int] = {}
        self._sql: dict[tuple, Any] = {}
        self._text: dict[tuple, str] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._sql)

    def compile(self, inner, expr, *args, **kwargs):
        """``inner.to_sqlglot(expr, *args, **kwargs)``, from the memo when compiled before."""
        try:
            key, generation = self._key(inner, expr, args, kwargs)
        except (_NotKept, TypeError):  # TypeError: an argument that cannot be a key
            return inner.to_sqlglot(expr, *args, **kwargs)
        return self._tree(key, generation, inner, expr, args, kwargs)

    def _tree(self, key: tuple, generation: int, inner, expr, args: tuple, kwargs: Mapping):
        """The compiled tree under ``key`` (a copy), compiled and kept if not there yet."""
        hit = self._sql.get(key)
        if hit is not None:
            return hit.copy()
        hit = inner.to_sqlglot(expr, *args, **kwargs)
        self._keep(self._sql, key, generation, hit.copy())
        return hit

    def text(self, inner, expr, *args, **kwargs):
        """:meth:`compile`, printed once: a ``sqlglot`` node that prints as the SQL text of
        the compiled tree (printing a derivation's large trees again and again took as long
        as the rest of a small derivation's Python work).

        The tree itself is returned when it cannot be kept or printed (an operation its
        dialect does not support: the caller's own printing then reports it).
        """
        try:
            key, generation = self._key(inner, expr, args, kwargs)
            text = self._text.get(key)
        except (_NotKept, TypeError):
            return inner.to_sqlglot(expr, *args, **kwargs)
        if text is None:
            tree = self._tree(key, generation, inner, expr, args, kwargs)
            try:
                text = tree.sql(dialect=inner.dialect, unsupported_level=sg.ErrorLevel.RAISE)
            except sg.errors.UnsupportedError:
                return tree
            self._keep(self._text, key, generation, text)
        return sge.Var(this=text)

    def _key(self, inner, expr, args: tuple, kwargs: Mapping) -> tuple[tuple, int]:
        """The memo's key of an expression and the generation its numbers belong to."""
        with self._lock:
            if len(self._shapes) > self.nodes:
                self._shapes.clear()
                self._sql.clear()
                self._text.clear()
                self._generation += 1
            dialect = getattr(inner, "dialect", type(inner))  # one Ibis compiler each
            given = tuple(sorted((k, v) for k, v in kwargs.items() if v is not None))
            key = (dialect, self._shape(expr.op()), args, given)  # None: the default
            hash(key)  # TypeError here, for an argument that cannot be a key
            return key, self._generation

    def _keep(self, table: dict, key: tuple, generation: int, value: Any) -> None:
        with self._lock:
            if generation == self._generation:  # else the key's numbers were forgotten
                while len(table) >= self.size:
                    table.pop(next(iter(table)))
                table[key] = value

    def _shape(self, op: Node) -> int:
        order = Graph.from_bfs(op).toposort()
        order = order[0] if isinstance(order, tuple) else order  # ibis >= 11: (graph, deps)
        number: dict[Node, int] = {}
        views: dict[int, int] = {}

        def arg(a):
            if isinstance(a, Node):
                return number[a]
            if isinstance(a, tuple):
                return (tuple, *map(arg, a))
            if isinstance(a, Mapping):
                return (Mapping, *((k, arg(v)) for k, v in a.items()))
            if isinstance(a, BaseBackend):  # a table's connection: not in its SQL
                return BaseBackend
            return a

        for node in order:
            if isinstance(node, ops.InMemoryTable):
                raise _NotKept
            values = node.__args__
            if isinstance(node, ops.Reference):  # .view(): its serial number by order met
                values = (values[0], views.setdefault(values[1], len(views)))
            key = (type(node), *map(arg, values))
            number[node] = self._shapes.setdefault(key, len(self._shapes))
        return number[op]


class _CachedCompiler:
    """An Ibis SQL compiler whose SQL comes from ``memo`` (:class:`CompiledMemo`): an
    expression compiled before, on any connection of the process, is not compiled again.

    Inside :meth:`printing` (this thread only), each expression comes back as its SQL
    text (:meth:`CompiledMemo.text`), for callers that only print what they get.
    """

    def __init__(self, inner, memo: CompiledMemo) -> None:
        self._inner = inner
        self._memo = memo
        self._printing = threading.local()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def to_sqlglot(self, expr, *args, **kwargs):
        if getattr(self._printing, "on", False):
            return self._memo.text(self._inner, expr, *args, **kwargs)
        return self._memo.compile(self._inner, expr, *args, **kwargs)

    @contextmanager
    def printing(self) -> Iterator[None]:
        """Within: ``to_sqlglot`` gives each expression as its (kept) SQL text."""
        before = getattr(self._printing, "on", False)
        self._printing.on = True
        try:
            yield
        finally:
            self._printing.on = before


def _printed(con, name: str, compiler: _CachedCompiler) -> Callable:
    """Connection ``con``'s method ``name``, run with ``compiler`` printing (but for a
    pretty print, ``compile(..., pretty=True)``: the kept text is not pretty). Holds ``con``
    weakly: a connection is freed (and its spill folder removed) as soon as its last user
    lets it go, not at the next garbage collection."""
    unbound = getattr(type(con), name)
    owner = weakref.ref(con)

    def run(*args, **kwargs):
        self = owner()
        if kwargs.get("pretty"):
            return unbound(self, *args, **kwargs)
        with compiler.printing():
            return unbound(self, *args, **kwargs)

    run.__doc__ = unbound.__doc__
    return run


#: Connection methods that only print what the compiler gives them: ``compile`` (the SQL
#: every query and Spark's ``create_table`` run) and Ibis's DuckDB ``create_table`` (which
#: puts the compiled tree into an ``INSERT`` and prints it; a derivation's tables go through
#: ``compile``, ``duckdb.one_statement_tables``). Checked for each Ibis version the
#: project supports by ``tests/derive/test_compile_cache.py``.
_PRINTING_METHODS = ("compile", "create_table")


def cache_compiled(con, memo: CompiledMemo | None = None):
    """``con`` (an Ibis SQL connection) with a compiler that compiles each distinct
    expression once per process (``memo``: by default the process's :data:`MEMO`), and
    whose ``compile`` and ``create_table`` print each distinct expression once; unchanged
    if this Ibis version compiles otherwise (the memo is a saving, never needed)."""
    inner = getattr(con, "compiler", None)
    if not callable(getattr(inner, "to_sqlglot", None)) or isinstance(inner, _CachedCompiler):
        return con  # no SQL compiler, or already cached
    con.compiler = compiler = _CachedCompiler(inner, MEMO if memo is None else memo)
    for name in _PRINTING_METHODS:
        if callable(getattr(type(con), name, None)):
            setattr(con, name, _printed(con, name, compiler))
    return con


#: The process's memo (:class:`CompiledMemo`): a cache of a pure function, which changes
#: no result, only how often the same SQL is compiled.
MEMO = CompiledMemo()

__all__ = ["MEMO", "CompiledMemo", "cache_compiled"]
