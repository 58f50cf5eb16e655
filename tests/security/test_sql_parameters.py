"""SQL only through parameters: an AST check over every Python file of the project.

Scanned: protocol, store, ingest, aggregates, alerts, web, bench, simulators (not tests,
not .venv).  A violation is SQL text built from strings at run time:

* ``sql-fstring`` — an f-string whose text holds SQL (see :data:`SQL_STATEMENT` and
  :data:`SQL_CLAUSE`), unless every interpolation is a ``$n`` placeholder number
  (``f"… = ${len(args)}"``) or an identifier quoted by the one helper
  :data:`QUOTE_HELPER` (``f"CREATE DATABASE {quote_ident(name)}"``);
* ``sql-percent`` / ``sql-format`` — ``"… SELECT … %s" % x``, ``"… SELECT … {}".format(x)``;
* ``sql-concat`` — ``+`` (or ``+=``) joining SQL text with anything that is not a literal;
* ``sql-dynamic-arg`` — a database call (:data:`DB_METHODS`) whose SQL argument is built
  (an f-string, ``%``, ``.format``, ``+``, ``.join``) or is a local variable assigned from
  one in the same function.

SQL constants (``INSERT_READINGS_SQL = "..."``) with ``$1`` parameters are the rule
(STYLE.md); dynamic *constant* fragments (``sql += " AND region = $3"``) are fine.  What is
genuinely unavoidable (DDL needs identifiers, which cannot be parameters) goes through
``store.db.quote_ident``; an exception would be listed in :data:`ALLOWED` with the reason,
keyed by file, function and rule, so a new case elsewhere still fails.  The test prints every offending ``file:line``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("protocol", "store", "ingest", "aggregates", "alerts", "web", "bench", "simulators")
SKIP_PARTS = frozenset({".venv", "node_modules", "__pycache__", "tests", "static", "frontend"})

#: asyncpg (and the project's Db wrappers): the calls that take SQL text first.
DB_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "fetch",
        "fetchrow",
        "fetchval",
        "cursor",
        "prepare",
        "copy_from_query",
    }
)
#: The one identifier-quoting helper an f-string may interpolate (store/db.py).
QUOTE_HELPER = "quote_ident"

#: Statements and clauses.  Upper case only — the project writes SQL keywords in upper
#: case, and prose ("cannot create database …", "select a station") must not hit; SQL in
#: lower case that is *built* is still caught by ``sql-dynamic-arg`` at the call.
SQL_STATEMENT = re.compile(
    r"\bSELECT\s.+?\sFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+|UNIQUE\s+|TEMP\s+|TEMPORARY\s+"
    r"|UNLOGGED\s+|MATERIALIZED\s+)?(?:TABLE|DATABASE|SCHEMA|INDEX|VIEW|FUNCTION|EXTENSION"
    r"|ROLE|USER|TRIGGER|SEQUENCE|TYPE|POLICY|PROCEDURE)\b"
    r"|\bCOPY\s+\S+\s+(?:FROM|TO)\b|\bCOPY\s*\(|\bTRUNCATE\s+(?:TABLE\s+)?\w+"
    r"|\bREFRESH\s+MATERIALIZED\b|\bON\s+CONFLICT\b",
    re.DOTALL,
)
SQL_CLAUSE = re.compile(
    r"\b(?:SELECT|WHERE|JOIN|ORDER BY|GROUP BY|RETURNING|GRANT|REVOKE|LISTEN|NOTIFY"
    r"|SET LOCAL|VALUES\s*\(|INTERVAL|LIMIT|OFFSET)\b"
)


def is_sql(text: str) -> bool:
    return bool(SQL_STATEMENT.search(text) or SQL_CLAUSE.search(text))


#: (file, function qualname, rule) → why the SQL cannot be parameters.  Keep it short.
ALLOWED: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True, slots=True)
class Violation:
    path: str
    line: int
    function: str
    rule: str
    source: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.rule)

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.rule} in {self.function or '<module>'}: {self.source}"
        )


def python_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if not SKIP_PARTS.intersection(path.relative_to(REPO).parts):
                yield path


def _text_of(node: ast.AST) -> str | None:
    """The literal text of a str constant, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _fstring_is_safe(node: ast.JoinedStr) -> bool:
    """Every interpolation is a ``$n`` placeholder or ``quote_ident(...)``."""
    previous = ""
    for part in node.values:
        text = _text_of(part)
        if text is not None:
            previous = text
            continue
        assert isinstance(part, ast.FormattedValue)
        value = part.value
        quoted = (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name | ast.Attribute)
            and (value.func.id if isinstance(value.func, ast.Name) else value.func.attr)
            == QUOTE_HELPER
        )
        if not (previous.endswith("$") or quoted):
            return False
        previous = ""
    return True


def _fstring_text(node: ast.JoinedStr) -> str:
    return "".join(_text_of(p) or " ? " for p in node.values)


def _concat_leaves(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _concat_leaves(node.left) + _concat_leaves(node.right)
    return [node]


def _is_literal(node: ast.AST) -> bool:
    return _text_of(node) is not None or (
        isinstance(node, ast.JoinedStr) and _fstring_is_safe(node)
    )


def _sql_in(node: ast.AST) -> bool:
    text = _text_of(node)
    if text is not None:
        return is_sql(text)
    return isinstance(node, ast.JoinedStr) and is_sql(_fstring_text(node))


def _built(node: ast.AST) -> bool:
    """An expression that builds text at run time (not a literal, not a plain name)."""
    if isinstance(node, ast.JoinedStr):
        return not _fstring_is_safe(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return not all(_is_literal(leaf) for leaf in _concat_leaves(node))
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join")
    )


class Checker(ast.NodeVisitor):
    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.scope: list[str] = []
        self.built_names: list[dict[str, int]] = [{}]
        self.sql_names: list[set[str]] = [set()]
        self.found: list[Violation] = []
        self._reported: set[int] = set()

    def report(self, node: ast.AST, rule: str) -> None:
        line = getattr(node, "lineno", 0)
        if line in self._reported:  # one report per line: the most specific rule
            return
        self._reported.add(line)
        source = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.found.append(Violation(self.path, line, ".".join(self.scope), rule, source[:120]))

    # -- scopes -----------------------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.built_names.append({})
        self.sql_names.append(set())
        # first pass: which local names hold built text / SQL text
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign | ast.AnnAssign) and sub.value is not None:
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        if _built(sub.value):
                            self.built_names[-1][target.id] = sub.lineno
                        if _sql_in(sub.value):
                            self.sql_names[-1].add(target.id)
            elif (
                isinstance(sub, ast.AugAssign)
                and isinstance(sub.op, ast.Add)
                and isinstance(sub.target, ast.Name)
                and not _is_literal(sub.value)
            ):
                self.built_names[-1][sub.target.id] = sub.lineno
        self.generic_visit(node)
        self.sql_names.pop()
        self.built_names.pop()
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    # -- rules ------------------------------------------------------------------------
    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if is_sql(_fstring_text(node)) and not _fstring_is_safe(node):
            self.report(node, "sql-fstring")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Mod) and _sql_in(node.left):
            self.report(node, "sql-percent")
        elif isinstance(node.op, ast.Add):
            leaves = _concat_leaves(node)
            if any(_sql_in(leaf) for leaf in leaves) and not all(map(_is_literal, leaves)):
                self.report(node, "sql-concat")
                return  # one report per chain
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if (
            isinstance(node.op, ast.Add)
            and isinstance(node.target, ast.Name)
            and node.target.id in self.sql_names[-1]
            and not _is_literal(node.value)
        ):
            self.report(node, "sql-concat")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)  # the argument's own rule (f-string, +, %) comes first
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr == "format" and _sql_in(func.value):
                self.report(node, "sql-format")
            if func.attr in DB_METHODS:
                sql = node.args[0] if node.args else None
                for kw in node.keywords:
                    if kw.arg == "query":
                        sql = kw.value
                if sql is not None and (
                    _built(sql) or (isinstance(sql, ast.Name) and sql.id in self.built_names[-1])
                ):
                    self.report(node, "sql-dynamic-arg")


def scan_source(path: str, source: str) -> list[Violation]:
    checker = Checker(path, source.splitlines())
    checker.visit(ast.parse(source, filename=path))
    return sorted(checker.found, key=lambda v: (v.path, v.line, v.rule))


def scan_project() -> list[Violation]:
    found: list[Violation] = []
    for path in python_files():
        rel = path.relative_to(REPO).as_posix()
        found += scan_source(rel, path.read_text("utf-8"))
    return found


# -- the check itself ---------------------------------------------------------------------


def test_sql_is_only_built_from_literals_and_parameters() -> None:
    found = scan_project()
    offending = [v for v in found if v.key not in ALLOWED]
    for v in found:
        print(("allowed  " if v.key in ALLOWED else "VIOLATION ") + str(v))
    assert not offending, "SQL built from strings:\n" + "\n".join(map(str, offending))


def test_allowlist_has_no_stale_entries() -> None:
    keys = {v.key for v in scan_project()}
    stale = [key for key in ALLOWED if key not in keys]
    assert not stale, f"allow-list entries that match nothing any more: {stale}"


def test_scan_covers_the_project() -> None:
    files = list(python_files())
    assert len(files) > 100
    assert {p.relative_to(REPO).parts[0] for p in files} == set(PACKAGES)
    assert not any("tests" in p.relative_to(REPO).parts for p in files)


# -- the checker's own tests ------------------------------------------------------------

BAD = {
    "sql-fstring": 'async def f(conn, t):\n    await conn.execute(f"SELECT * FROM {t}")\n',
    "sql-percent": 'def f(x):\n    return "DELETE FROM t WHERE id = %s" % x\n',
    "sql-format": 'def f(x):\n    return "UPDATE t SET a = {}".format(x)\n',
    "sql-concat": 'def f(order):\n    return "SELECT a FROM t ORDER BY " + order\n',
    "sql-dynamic-arg": (
        'async def f(conn, cols):\n    sql = ", ".join(cols)\n    return await conn.fetch(sql)\n'
    ),
}
GOOD = {
    "constant": 'Q = "SELECT a FROM t WHERE id = $1"\nasync def f(c):\n    await c.fetch(Q, 1)\n',
    "placeholder": (
        "def f(args):\n"
        '    sql = "SELECT a FROM t WHERE true"\n'
        '    sql += f" AND b = ${len(args)}"\n'
        "    return sql\n"
    ),
    "quoted identifier": 'def f(n):\n    return f"CREATE DATABASE {quote_ident(n)}"\n',
    "implicit concatenation": 'Q = ("SELECT a "\n     "FROM t")\n',
    "constant fragments": 'def f(x):\n    s = "SELECT a FROM t"\n    s += " WHERE b"\n    return s\n',
    "prose": 'def f(n):\n    return f"cannot create database {n}: select another from the list"\n',
}


@pytest.mark.parametrize("rule", sorted(BAD))
def test_checker_flags(rule: str) -> None:
    assert rule in {v.rule for v in scan_source("x.py", BAD[rule])}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_checker_accepts(name: str) -> None:
    assert scan_source("x.py", GOOD[name]) == []


def test_append_of_a_variable_to_sql_is_flagged() -> None:
    src = 'def f(col):\n    sql = "SELECT a FROM t"\n    sql += " ORDER BY " + col\n'
    rules = {v.rule for v in scan_source("x.py", src)}
    assert "sql-concat" in rules


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("bench_x", '"bench_x"'), ('we"ird', '"we""ird"'), ("数据", '"数据"')],
)
def test_quote_ident(name: str, quoted: str) -> None:
    from store.db import quote_ident

    assert quote_ident(name) == quoted


@pytest.mark.parametrize("name", ["", "a\x00b"])
def test_quote_ident_refuses_what_no_identifier_can_be(name: str) -> None:
    from store.db import quote_ident

    with pytest.raises(ValueError, match="identifier"):
        quote_ident(name)
