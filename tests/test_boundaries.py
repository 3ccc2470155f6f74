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
        sql = [line.strip() for line in path.read_text().splitlines() if SQL.search(line)]
        assert not sql, f"{name} writes SQL: {sql[:3]}"
    if where != "ui":
        assert "streamlit" not in top(imported), f"{name} imports Streamlit"
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


def test_the_crawl_package_does_not_shadow_the_apis_crawl(tmp_path):
    import docspasta
    import docspasta.crawl.engine  # noqa: F401  # importing the package sets docspasta.crawl to it
    from docspasta.errors import InvalidURLError

    assert callable(docspasta.crawl)
    with pytest.raises(InvalidURLError, match="ftp://"):
        docspasta.crawl("ftp://example.org/", db=tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()
