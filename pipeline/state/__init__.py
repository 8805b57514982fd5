"""The embedded state store (SQLite) and the import of an out/ written before it."""

from __future__ import annotations

from pathlib import Path

from ..files import ensure_folder
from .store import STORE_NAME, Approval, Store

__all__ = ["STORE_NAME", "Approval", "Store", "open_store"]


def open_store(out_dir: Path, write: bool = True) -> Store:
    """The project's store. `write=False` (commands that only read) never creates out/ or the
    store: without one, an in-memory store holds what the previous release's files say. A new
    store imports the manifests and memo an earlier release wrote; `store.problems` says what
    could not be imported."""
    from .migrate import import_previous

    path = out_dir / STORE_NAME
    if write:
        ensure_folder(out_dir)
    store = Store(path if write or path.exists() else None)
    if store.created:
        store.problems += import_previous(store, out_dir)
    return store
