"""Device sync engine (see docs/sync-engine.md): ``SyncEngine``, ``enroll``, ``SyncRunner``."""

from sync.client.engine import (
    Enrollment,
    Progress,
    SyncEngine,
    SyncReport,
    SyncStatus,
    enroll,
    sync_status,
)
from sync.client.replica import MemoryReplica, Replica
from sync.client.runner import SyncRunner
from sync.client.transport import SyncError

__all__ = [
    "Enrollment", "MemoryReplica", "Progress", "Replica", "SyncEngine", "SyncError", "SyncReport",
    "SyncRunner", "SyncStatus", "enroll", "sync_status",
]
