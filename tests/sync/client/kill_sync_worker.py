"""Run syncs of a TinyDB device store forever (the parent SIGKILLs this at random moments).

usage: kill_sync_worker.py DATA_DIR SERVER_URL TOKEN
"""

from __future__ import annotations

import sys

from app.store import Store
from sync.client.engine import SyncEngine


def main() -> None:
    data, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
    store = Store.open(data)
    eng = SyncEngine(store, url, token, batch_size=3, pull_limit=5, chunk_size=8 * 1024, adaptive=False,
                     read_timeout=5, deadline_s=10)
    print("ready", flush=True)
    while True:
        eng.sync_once()


if __name__ == "__main__":
    main()
