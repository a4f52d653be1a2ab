"""The device store on TinyDB: crash-safe split files, outbox, pull cursor (see docs/device-store.md)."""

from pathlib import Path

from sync.i18n import add_catalog_dir

from .storage import AtomicJSONStorage, DamagedFile, tinydb_view
from .store import DamagedReport, Store, StoreError, partition_name

# The store's messages live in app/locale/store.json.
add_catalog_dir(Path(__file__).resolve().parents[1] / "locale")

__all__ = [
    "AtomicJSONStorage",
    "DamagedFile",
    "DamagedReport",
    "Store",
    "StoreError",
    "partition_name",
    "tinydb_view",
]
