"""Bring an out/ written before the state store into a new store, so that the first build after an
upgrade is a no-op: each series' manifest.json (its entries, keys and checksums), and the memo
(`out/.memo.json`: file checksums, sentence plans, checks passed). Also the way back after a lost
or damaged store: the manifests are exports of it.

A manifest this tool cannot read is reported and its episodes are rebuilt, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..manifest import MANIFEST_NAME, EpisodeResult
from .store import Store

OLD_MEMO = ".memo.json"
OLD_PUBLISHED = ".published.json"
"""Files of the previous release that the store replaces (removed once imported)."""


def read_manifest(path: Path) -> tuple[list[EpisodeResult], str | None]:
    """A manifest's entries, or none and why it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [], f"{path}: unreadable manifest ({exc}); its episodes will be rebuilt"
    try:
        return [EpisodeResult.from_dict(item) for item in data["episodes"]], None
    except (KeyError, TypeError, AttributeError) as exc:
        detail = f" ({exc})" if isinstance(exc, TypeError) else ""
        return [], f"{path}: not a manifest this tool wrote{detail}; its episodes will be rebuilt"


def import_previous(store: Store, out_dir: Path) -> list[str]:
    """Import every series' manifest and the old memo into a new store; returns the problems found."""
    problems: list[str] = []
    if not out_dir.is_dir():
        return problems
    for manifest in sorted(out_dir.glob(f"*/{MANIFEST_NAME}")):
        slug = manifest.parent.name
        entries, problem = read_manifest(manifest)
        if problem:
            problems.append(problem)
        for entry in entries:
            store.record(slug, entry)
    memo = _old_memo(out_dir / OLD_MEMO)
    if memo is not None:
        files = {key: (value[0], str(value[1])) for key, value in memo.get("files", {}).items()
                 if isinstance(value, list) and len(value) == 2}
        checks = {key for key, passed in memo.get("verdicts", {}).items() if passed}
        store.save_memo(files, dict(memo.get("plans", {})), checks, None)
    if store.path is not None:  # written into a real store: the old bookkeeping has served its turn
        for old in [out_dir / OLD_MEMO, *out_dir.glob(f"*/{OLD_PUBLISHED}")]:
            old.unlink(missing_ok=True)
    return problems


def _old_memo(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in ("files", "plans", "verdicts")):
        return None
    return data
