"""Is this path a store? The checks made before SQLite sees a file, and SQLite's errors as StoreErrors.

Why before SQLite sees it: sqlite3 happily "opens" a text file and only fails at the first query with
"file is not a database", and would create a new database in a directory's place or write its tables
into another program's database. ``store.py`` checks the database itself (its application id and
tables) once it is open.
"""
from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path

from .errors import StoreError


_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_file(path: Path, readonly: bool) -> None:
    """Refuse, with a message naming the problem, a path that cannot be (or is not) a store."""
    if path.is_dir():
        raise StoreError(f"store path {path} is a directory; give a file name such as {path / 'runs.sqlite'}")
    if not path.exists():
        if readonly:
            raise StoreError(f"no store at {path}")
        if path.parent.exists() and not path.parent.is_dir():
            raise StoreError(f"cannot create store {path}: {path.parent} is not a directory")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create store {path}: {exc.strerror or exc}") from None
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot create store {path}: {path.parent} is not writable")
        return
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read store {path}: {exc.strerror or exc}") from None
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a nasbench_lab store (not an SQLite database); nothing was changed")
    # Why the mode bits too: root may write anything, but a file made read-only was made so on purpose.
    if not readonly and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
        raise StoreError(f"store {path} is read-only: runs/show can read it; copy it to record new runs")


def sql_errors(method):
    """Turn sqlite3's errors inside a store method into one StoreError naming the file (a damaged
    page is found only when it is read)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {sqlite_message(exc)}") from None
    return wrapper


def sqlite_message(exc: sqlite3.Error) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "malformed" in msg or "not a database" in msg or "disk image" in msg:
        return f"the file is damaged ({msg}); restore it from a backup or start a new store"
    if "readonly" in msg or "read-only" in msg:
        return f"the file is read-only ({msg})"
    return msg
