"""The architecture as a test: which package may import what (ARCHITECTURE.md, package docstrings).

Every import counts, `TYPE_CHECKING` and function-level ones included: the test reads the
syntax tree, not what happens to be loaded.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "docspasta"
DRIVERS = {"sqlite3", "sqlite_utils", "psycopg", "psycopg_pool"}
NETWORK = {"httpx", "httpcore"}
BACKENDS = {p.name for p in (PACKAGE / "store").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
SQL = re.compile(
    r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b", re.I
)


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """Absolute names of everything `path` imports (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def area(name: str) -> str:
    """docspasta.fetching.fetch -> fetching; docspasta.settings (or a name in it) -> top."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else "top"


def top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


ALL = modules()


@pytest.mark.parametrize(("name", "path"), ALL, ids=[n for n, _ in ALL])
def test_boundaries(name, path):
    imported = imports_of(name, path)
    ours = {n for n in imported if n.startswith("docspasta.")}
    where = area(name)
    if where == "extraction":
        reached = {area(n) for n in ours}
        assert not reached & {"fetching", "store", "crawl", "exports", "ui"}, f"{name} imports {sorted(ours)}"
    if where != "store":
        assert not top(imported) & DRIVERS, f"{name} imports a database driver"
        backends = sorted(n for n in ours if n.startswith("docspasta.store.") and n.split(".")[2] in BACKENDS)
        assert not backends, f"{name} imports a store backend ({backends}); use docspasta.store's factory"
        sql = [line.strip() for line in path.read_text().splitlines() if SQL.search(line)]
        assert not sql, f"{name} writes SQL: {sql[:3]}"
    if where != "ui":
        assert "streamlit" not in top(imported), f"{name} imports Streamlit"
    if where != "agents":
        assert "mcp" not in top(imported), f"{name} imports the MCP SDK (docspasta.agents only)"
    if where == "agents":
        reached = {area(n) for n in ours}
        assert not reached & {"fetching", "ui"}, f"{name} imports {sorted(ours)}"
    if where != "fetching":
        assert not top(imported) & NETWORK, f"{name} imports {sorted(top(imported) & NETWORK)}"
    if where == "top" and name.rsplit(".", 1)[-1] not in ("api", "cli", "__main__", "docspasta"):
        reached = {area(n) for n in ours}
        assert reached <= {"top"}, f"{name} (a top-level module) imports {sorted(ours)}"


def test_the_front_ends_import_no_driver_network_code_or_sql():
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        imported = imports_of(path.stem, path)
        assert not top(imported) & (DRIVERS | NETWORK), path
        assert not [line for line in path.read_text().splitlines() if SQL.search(line)], path


def test_the_boundary_check_sees_type_checking_and_function_level_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import httpx\n"
        "def f():\n    from ..store.sqlite import reads\n"
    )
    names = imports_of("docspasta.extraction.probe", probe)
    assert "httpx" in names and "docspasta.store.sqlite.reads" in names
    assert {"sqlite"} <= BACKENDS  # so the rule against importing a backend has something to catch


def test_the_crawl_package_does_not_shadow_the_apis_crawl(tmp_path):
    import docspasta
    import docspasta.crawl.engine  # noqa: F401  # importing the package sets docspasta.crawl to it
    from docspasta.errors import InvalidURLError

    assert callable(docspasta.crawl)
    with pytest.raises(InvalidURLError, match="ftp://"):
        docspasta.crawl("ftp://example.org/", db=tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def status_literals(path: Path) -> list[str]:
    """String constants equal to a stored status, step or control value, used as one:
    compared with (alone or in a tuple), or handed to a frame filter."""
    from docspasta.records import Control, JobStatus, JobStep, PageStatus

    stored = {v.value for enum in (JobStatus, PageStatus, JobStep, Control) for v in enum}
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and node.value in stored):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Tuple | ast.List | ast.Set):
            parent = parents.get(parent)
        frame_call = isinstance(parent, ast.Call) and getattr(parent.func, "attr", None) in ("is_in", "lit")
        if isinstance(parent, ast.Compare) or frame_call:
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


def test_statuses_are_named_by_their_enums_not_spelled_out():
    """records.py defines them; a migration is history and keeps the strings it was written with."""
    allowed = {PACKAGE / "records.py", PACKAGE / "store" / "sqlite" / "migrations.py"}
    found = [hit for _, path in ALL if path not in allowed for hit in status_literals(path)]
    assert found == []


def test_the_status_literal_check_finds_one(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        'if job.status in ("running", "x") or page == "skipped":\n'
        '    df.filter(pl.col("status").is_in(["failed"]))\n'
        'row = {"completed": 3}\n'  # a key that happens to be a status's name is not a status
    )
    assert sorted(status_literals(probe)) == ["probe.py:1: 'running'", "probe.py:1: 'skipped'", "probe.py:2: 'failed'"]
