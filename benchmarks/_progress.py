"""The progress file of a long benchmark script: one JSON line per finished item, so that a run resumes.

The first line is a header naming the settings the items were made with; each later line is one
finished item, keyed by its ``"index"``. A rerun reads the file, refuses one made with other settings
(its scores would be mixed with incomparable ones), skips the items it holds and appends the rest. A
line cut short by an interrupted run is simply made again. Why JSON lines and a flush per item: a
background job on a shared laptop can be killed at any moment, and an hour of scores must survive it.

Used by ``zerocost_study.py``, ``zerocost_cifar10.py`` and ``supernet_ground_truth.py``.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path


class ProgressFile:
    """``done`` (index -> record) read from ``path`` if its header's ``field`` equals ``settings``."""

    def __init__(self, path: Path, settings: dict, field: str = "config", fresh: bool = False,
                 hint: str = "remove it or pass another --out", ignore: tuple = ()):
        """``ignore``: settings that may differ from the file's without making its items incomparable
        (e.g. how many cells a study plans: the items are the same, there will only be more of them)."""
        self.path, self.settings, self.field = Path(path), settings, field
        self.header: dict = {}
        self.done: dict[int, dict] = {}
        if fresh or not self.path.is_file():
            return
        lines = self.path.read_text().splitlines()
        if not lines or not lines[0].strip():
            return
        self.header = json.loads(lines[0])
        def same(d):
            return {k: v for k, v in (d or {}).items() if k not in ignore}
        if same(self.header.get(field)) != same(settings):
            raise SystemExit(f"{self.path} was made with other settings ({self.header.get(field)}); {hint}")
        for line in lines[1:]:
            try:
                rec = json.loads(line)
            except ValueError:                  # a line cut short by an interrupted run: made again
                continue
            self.done[rec["index"]] = rec

    @contextmanager
    def appending(self, **header):
        """Append records (``add``); a new file first gets the header: the settings and ``header``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.header:
            self.header = {self.field: self.settings, **header}
            self.path.write_text(json.dumps(self.header) + "\n")
        with self.path.open("rb") as f:
            f.seek(-1, 2)
            cut = f.read(1) != b"\n"
        with self.path.open("a") as f:
            if cut:
                f.write("\n")                  # why: a line cut short must not swallow the next record
            self._f = f
            try:
                yield self
            finally:
                self._f = None

    def add(self, rec: dict) -> None:
        self._f.write(json.dumps(rec) + "\n")
        self._f.flush()
        self.done[rec["index"]] = rec


def write_result(out: Path, result: dict, what: str) -> None:
    """The shipped JSON (strict: a NaN is an error, not an invalid file), and one line saying so."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, allow_nan=False) + "\n")
    print(f"wrote {out} ({what})", file=sys.stderr)
