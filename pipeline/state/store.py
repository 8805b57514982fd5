"""The project's state store: what builds know, in one SQLite file (`out/.state.sqlite`).

Embedded, from the standard library, in WAL mode: a build records each episode's result as one
small transaction whose cost does not depend on the size of the series, readers (`list`, the
studio) never wait for a writer, and a build killed at any moment leaves every transaction it
committed and nothing of the one it was in. It holds the episodes' results (their stage keys
included), each series' publishing state, the memo (file checksums, sentence plans, checks passed),
the producer's approvals and the takes the producer picked in the studio. `out/<series>/manifest.json`
is an export of it, written at the end of a build; the store is the truth.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..manifest import EpisodeResult

STORE_NAME = ".state.sqlite"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    series TEXT NOT NULL, file TEXT NOT NULL, number INTEGER NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (series, file));
CREATE TABLE IF NOT EXISTS series (
    slug TEXT PRIMARY KEY, revision INTEGER NOT NULL DEFAULT 0, published_key TEXT, gates TEXT);
CREATE TABLE IF NOT EXISTS memo_files (key TEXT PRIMARY KEY, stamp TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memo_plans (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memo_checks (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS approvals (
    series TEXT NOT NULL, file TEXT NOT NULL, audio_sha256 TEXT NOT NULL, approved_at TEXT NOT NULL,
    PRIMARY KEY (series, file));
CREATE TABLE IF NOT EXISTS picks (
    series TEXT NOT NULL, file TEXT NOT NULL, spoken TEXT NOT NULL, take INTEGER NOT NULL, picked_at TEXT NOT NULL,
    PRIMARY KEY (series, file, spoken));
"""


@dataclass(frozen=True)
class Approval:
    """A producer's approval of an episode's audio, as it was when approved."""

    series: str
    file: str
    audio_sha256: str
    """The approved MP3's audio fingerprint: any change to the audio clears the approval."""
    approved_at: str


class Store:
    """One project's state. Thread-safe (the studio serves requests from threads); every write is
    one transaction."""

    def __init__(self, path: Path | None):
        """Open (creating it if needed) the store at `path`; None holds it in memory only, for a
        command that reads a project it must not write (no out/ yet)."""
        self.path = path
        self.created = path is None or not path.exists()
        """Whether the store is new: a project built by an earlier release is then imported."""
        self.problems: list[str] = []
        """What could not be read: a damaged store (set aside and started afresh), manifests that
        could not be imported."""
        self._lock = threading.RLock()
        self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            return self._open()
        except sqlite3.DatabaseError as exc:
            if self.path is None:
                raise
            damaged = self.path.with_name(self.path.name + ".damaged")
            self.problems.append(f"{self.path}: unreadable state store ({exc}); set aside as {damaged.name} and "
                            "started again from the manifests")
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.path}{suffix}")
                if source.exists():
                    source.replace(Path(f"{damaged}{suffix}"))
            self.created = True
            return self._open()

    def _open(self) -> sqlite3.Connection:
        where = ":memory:" if self.path is None else str(self.path)
        if self.path is not None and self.path.exists() and not self.path.is_file():
            raise ConfigError("is not a file, but the state store goes here; move it away", self.path)
        try:
            db = sqlite3.connect(where, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            raise ConfigError(f"cannot open the state store: {exc}", self.path) from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(found[0]) > SCHEMA_VERSION:
                raise ConfigError(f"written by a newer release of this tool (schema {found[0]}); upgrade it",
                                  self.path)
        except sqlite3.OperationalError as exc:
            db.close()
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise ConfigError(f"cannot write the state store: {exc} (is the folder read-only?)", self.path) \
                    from None
            raise sqlite3.DatabaseError(str(exc)) from None
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all of it is committed, or none."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _rows(self, sql: str, parameters: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, tuple(parameters)).fetchall()

    # -- episodes -----------------------------------------------------------------------------

    def episodes(self, series: str) -> dict[str, EpisodeResult]:
        """A series' results by MP3 file name, in episode order."""
        rows = self._rows("SELECT result FROM episodes WHERE series = ? ORDER BY number, file", (series,))
        return {entry.file: entry for entry in (EpisodeResult.from_dict(json.loads(row[0])) for row in rows)}

    def cache_keys(self) -> set[str]:
        """Every sentence-cache key that any recorded episode was assembled from (read in SQL,
        without decoding the results)."""
        return {row[0] for row in self._rows(
            "SELECT DISTINCT key.value FROM episodes, json_each(episodes.result, '$.cache_keys') AS key")}

    def series_slugs(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT DISTINCT series FROM episodes ORDER BY series")]

    def record(self, series: str, result: EpisodeResult) -> None:
        """Store one episode's result (replacing its previous one) in one transaction."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO episodes VALUES (?, ?, ?, ?)",
                       (series, result.file, result.number, json.dumps(result.to_dict(), ensure_ascii=False)))
            self._touch(db, series)

    def forget(self, series: str, file: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM episodes WHERE series = ? AND file = ?", (series, file))
            db.execute("DELETE FROM approvals WHERE series = ? AND file = ?", (series, file))
            db.execute("DELETE FROM picks WHERE series = ? AND file = ?", (series, file))
            self._touch(db, series)

    @staticmethod
    def _touch(db: sqlite3.Connection, series: str) -> None:
        db.execute("INSERT INTO series (slug, revision) VALUES (?, 1) "
                   "ON CONFLICT (slug) DO UPDATE SET revision = revision + 1", (series,))

    def revision(self, series: str) -> int:
        """A number that changes whenever one of the series' results does (publishing's key)."""
        rows = self._rows("SELECT revision FROM series WHERE slug = ?", (series,))
        return rows[0][0] if rows else 0

    # -- publishing ---------------------------------------------------------------------------

    def published(self, series: str) -> tuple[str | None, list[dict[str, Any]]]:
        """The key of the series' last publishing, and the series gates found then."""
        rows = self._rows("SELECT published_key, gates FROM series WHERE slug = ?", (series,))
        if not rows or rows[0][0] is None:
            return None, []
        return rows[0][0], json.loads(rows[0][1] or "[]")

    def set_published(self, series: str, key: str, gates: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO series (slug, published_key, gates) VALUES (?, ?, ?) ON CONFLICT (slug) "
                       "DO UPDATE SET published_key = excluded.published_key, gates = excluded.gates",
                       (series, key, json.dumps(gates)))

    # -- approvals ----------------------------------------------------------------------------

    def approvals(self, series: str) -> dict[str, Approval]:
        rows = self._rows("SELECT series, file, audio_sha256, approved_at FROM approvals WHERE series = ?", (series,))
        return {row[1]: Approval(*row) for row in rows}

    def approve(self, approval: Approval) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO approvals VALUES (?, ?, ?, ?)",
                       (approval.series, approval.file, approval.audio_sha256, approval.approved_at))

    def withdraw(self, series: str, file: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM approvals WHERE series = ? AND file = ?", (series, file))

    # -- takes the producer picked (the studio) ------------------------------------------------

    def picks(self, series: str) -> dict[str, dict[str, int]]:
        """The take picked for each sentence (by its spoken text), by MP3 file name. A pick of
        take 0 is kept: it says the producer chose the first take over speech QA's."""
        found: dict[str, dict[str, int]] = {}
        for file, spoken, take in self._rows("SELECT file, spoken, take FROM picks WHERE series = ? "
                                             "ORDER BY file, spoken", (series,)):
            found.setdefault(file, {})[spoken] = take
        return found

    def pick(self, series: str, file: str, spoken: str, take: int, picked_at: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO picks VALUES (?, ?, ?, ?, ?)", (series, file, spoken, take, picked_at))

    # -- the memo (see fingerprint.Memo) ------------------------------------------------------

    def memo_files(self) -> dict[str, tuple[Any, str]]:
        return {key: (json.loads(stamp), value) for key, stamp, value in
                self._rows("SELECT key, stamp, value FROM memo_files")}

    def memo_plan(self, key: str) -> Any:
        rows = self._rows("SELECT value FROM memo_plans WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def memo_checked(self, key: str) -> bool:
        return bool(self._rows("SELECT 1 FROM memo_checks WHERE key = ?", (key,)))

    def save_memo(self, files: dict[str, tuple[Any, str]], plans: dict[str, Any], checks: set[str],
                  keep_plans: set[str] | None) -> None:
        """Write what the memo learnt, in one transaction; `keep_plans` drops every other plan."""
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO memo_files VALUES (?, ?, ?)",
                           [(key, json.dumps(stamp), value) for key, (stamp, value) in files.items()])
            db.executemany("INSERT OR REPLACE INTO memo_plans VALUES (?, ?)",
                           [(key, json.dumps(value, ensure_ascii=False)) for key, value in plans.items()])
            db.executemany("INSERT OR IGNORE INTO memo_checks VALUES (?)", [(key,) for key in checks])
            if keep_plans is not None:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM kept")
                db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", [(key,) for key in keep_plans])
                db.execute("DELETE FROM memo_plans WHERE key NOT IN (SELECT key FROM kept)")
