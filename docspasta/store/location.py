"""What `--db`, `$DOCSPASTA_DB` and the dashboard's `db` secret take, and where it leads.

A `postgresql://` URL (the PostgreSQL store), a file path (SQLite, created on first use)
or nothing (one SQLite file in the user's cache directory, shared by the CLI and the
dashboard). Kept apart from any backend so the factory can tell which one a value names
without importing a driver.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

DbSpec = str | os.PathLike[str] | None  # what --db takes


def default_db_path() -> Path:
    """`$DOCSPASTA_DB`, else one file in the user's cache directory (shared by CLI and dashboard)."""
    if env := os.environ.get("DOCSPASTA_DB"):
        return Path(env).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "docspasta" / "docspasta.db"


def is_postgres(db: DbSpec) -> bool:
    return isinstance(db, str) and db.startswith(POSTGRES_SCHEMES)


def resolve_db_path(db: DbSpec) -> Path:
    return Path(db).expanduser() if db else default_db_path()


def resolve(db: DbSpec) -> str:
    """The store `db` names, as one string: the same store always gives the same string
    (the dashboard keys its one runner per store by it). `$DOCSPASTA_DB` may hold a URL too."""
    if db is None and is_postgres(os.environ.get("DOCSPASTA_DB")):
        return os.environ["DOCSPASTA_DB"]
    if is_postgres(db):
        return str(db)
    return str(resolve_db_path(db))


def display(db: DbSpec) -> str:
    """`resolve(db)` as docspasta prints it: a URL's password masked."""
    where = resolve(db)
    if not is_postgres(where):
        return where
    parts = urlsplit(where)
    if parts.password is None:
        return where
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
