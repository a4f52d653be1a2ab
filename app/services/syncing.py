"""Sync inside the field app: enrollment, the background runner, status, conflicts, bundles.

One ``SyncService`` per data folder (built with the device: ``app/device.py``), shared by
every browser tab. On a PC the runner syncs from its own thread; screens subscribe with
``add_listener`` and must hand the callbacks to their event loop themselves
(``app/ui/session.py``): listeners are called from the sync thread. In the phone's browser
(no threads) ``transport_factory`` gives the asyncio transport over the browser's fetch and
the same engine runs in an ``AsyncRunner`` task on the app's loop (``sync.client.aio``);
screens call ``sync_now_async``/``enroll_async``, which work on both. The enrollment is kept
in the store meta under the same key as ``gridwall sync enroll`` uses, so the shell and the
app share one enrollment.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.services.common import fmt_time, last_sync_text
from app.store.store import conflict_key
from sync.bundles.format import BundleError
from sync.chinatime import file_stamp
from sync.client.aio import AsyncRunner, AsyncTransport, enroll_async
from sync.client.bundles import apply_return, export_bundle
from sync.client.engine import (
    ENROLLMENT_KEY,
    Enrollment,
    Progress,
    SyncEngine,
    SyncReport,
    enroll,
    sync_status,
)
from sync.client.history import read_history
from sync.client.runner import SyncRunner
from sync.client.schedule import Timing
from sync.client.transport import SyncError
from sync.i18n import t

log = logging.getLogger(__name__)
DISMISSED_KEY = "sync.conflicts_done"  # conflict keys a person has dealt with (the log is grow-only)
Listener = Callable[[str, Any], None]  # (event, payload): "progress" Progress | "report" SyncReport


class SyncServiceError(Exception):
    """A message for people (already translated): what went wrong and what to do."""


class SyncService:
    def __init__(self, services: Any, *, server_hint: str | None = None, timing: Timing | None = None,
                 interval_s: float | None = None, background: bool = True,
                 transport_factory: Callable[..., AsyncTransport] | None = None,
                 **engine_options: Any) -> None:
        self.services = services
        self.store = services.store
        self.server_hint = server_hint  # `gridwall app --server URL`: prefills the enrol form
        # When to sync (sync/client/schedule.py); short ones in tests.
        self.timing = timing or Timing()
        if interval_s is not None:
            self.timing = replace(self.timing, interval_s=interval_s)
        self.background = background  # False: no runner thread (syncs only when asked; tests)
        # (server_url, token, **transport options) -> AsyncTransport: sync on asyncio (the browser)
        self.transport_factory = transport_factory
        self.code_hint: str | None = None  # a one-time code the app was opened with (/app/#enroll=…)
        self.engine_options = engine_options
        self.engine: SyncEngine | None = None
        self.runner: SyncRunner | AsyncRunner | None = None
        self.progress: Progress | None = None  # the running sync's progress, None when idle
        self.reports = 0  # syncs fully handled (profile names updated, listeners told)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self.store.add_save_listener(self._saved)  # a save syncs within seconds

    # ------------------------------------------------------------------ enrollment
    def enrollment(self) -> dict | None:
        en = self.store.meta_get(ENROLLMENT_KEY)
        return dict(en) if en else None

    @property
    def enrolled(self) -> bool:
        return self.enrollment() is not None

    def enroll(self, server_url: str, code: str, device_name: str) -> dict:
        """Blocking (network): call it from a thread. Raises SyncServiceError in plain words."""
        url, code, name = _enroll_input(server_url, code, device_name)
        try:
            en = enroll(url, code, name, **self._transport_options())
        except SyncError as exc:
            raise SyncServiceError(exc.message) from None
        return self._enrolled(en)

    async def enroll_async(self, server_url: str, code: str, device_name: str) -> dict:
        """``enroll`` for a screen: in a thread on a PC, on the loop in the browser."""
        if self.transport_factory is None:
            return await asyncio.to_thread(self.enroll, server_url, code, device_name)
        url, code, name = _enroll_input(server_url, code, device_name)
        tr = self.transport_factory(url, None, **self._transport_options())
        try:
            en = await enroll_async(tr, code, name)
        except SyncError as exc:
            raise SyncServiceError(exc.message) from None
        finally:
            tr.close()
        return self._enrolled(en)

    def _enrolled(self, en: Enrollment) -> dict:
        doc = en.document()
        self.code_hint = None
        self.store.meta_set(ENROLLMENT_KEY, doc)
        self._profile_from_enrollment(doc)
        with self._lock:  # enrolled again (new token): the old engine must not keep syncing
            old, self.engine, self.runner = self.runner, None, None
        if old is not None:
            old.stop()
        self.start()
        return doc

    _TRANSPORT_KEYS = ("read_timeout", "connect_timeout", "deadline_s", "max_attempts", "backoff_base_s",
                       "sleep", "rng")

    def _transport_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.engine_options.items() if k in self._TRANSPORT_KEYS}

    def _engine_only(self) -> dict[str, Any]:
        return {k: v for k, v in self.engine_options.items() if k not in self._TRANSPORT_KEYS}

    def _profile_from_enrollment(self, en: dict) -> None:
        """The app works for the enrolled user and their first grid from now on."""
        p = self.services.profile
        user = en.get("user") or {}
        grids = (en.get("scope") or {}).get("grids") or []
        grid_id = grids[0] if grids else p.get("grid_id")
        self._update_profile(
            user_id=user.get("id") or p["user_id"], user_name=user.get("name") or p.get("user_name", ""),
            grid_id=grid_id, grid_name=p.get("grid_name", "") if grid_id == p.get("grid_id") else "")
        self._names_from_reference()

    def _update_profile(self, **changes: Any) -> None:
        # Merge: other parts keep their own keys in the profile (e.g. "role").
        p = self.services.profile
        p.update(changes)
        self.store.meta_set("profile", p)

    def _names_from_reference(self) -> bool:
        """Grid and village names from the pulled reference records (after the first sync)."""
        p = self.services.profile
        grid = self.store.get("grid", p.get("grid_id", ""))
        if grid is None:
            return False
        gf = grid.get("fields", {})
        vid = gf.get("village") or p.get("village_id", "")
        village = self.store.get("village", vid) if vid else None
        vname = (village or {}).get("fields", {}).get("name") or p.get("village", "")
        gname = gf.get("name") or p.get("grid_name", "")
        if (gname, vid, vname) == (p.get("grid_name"), p.get("village_id"), p.get("village")):
            return False
        self._update_profile(grid_name=gname, village_id=vid, village=vname)
        return True

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        """Build the engine and runner when enrolled; with ``background`` sync now and on a timer."""
        en = self.enrollment()
        if en is None:
            return
        if (en.get("user") or {}).get("id") not in (None, self.services.profile.get("user_id")):
            self._profile_from_enrollment(en)  # enrolled from the shell (`gridwall sync enroll`)
        with self._lock:
            if self.engine is None:
                if self.transport_factory is not None:  # the browser: asyncio and its fetch
                    tr = self.transport_factory(en["server_url"], en["token"], **self._transport_options())
                    self.engine = SyncEngine(self.store, en["server_url"], en["token"], transport=tr,
                                             on_progress=self._on_progress, **self._engine_only())
                    self.runner = AsyncRunner(self.engine, timing=self.timing, on_report=self._on_report)
                else:
                    self.engine = SyncEngine(self.store, en["server_url"], en["token"],
                                             on_progress=self._on_progress, **self.engine_options)
                    self.runner = SyncRunner(self.engine, timing=self.timing, on_report=self._on_report)
                if self.background:
                    self.runner.start()  # its first sync is due at once: sync on start
                return
        if self.background and self.runner is not None:
            self.runner.trigger()  # a new tab, or enrolled again: sync now

    def trigger(self) -> None:
        """Sync soon in the background (on resume, when the link comes back)."""
        self.start()
        if self.runner is not None and self.background:
            self.runner.trigger()

    def _saved(self) -> None:
        runner = self.runner
        if runner is not None and self.background:
            runner.saved()

    def sync_now(self) -> SyncReport:
        """"立即同步": one sync in the caller's thread (waits for a running one); it tries at
        once whatever the backoff said, and the waits start from the bottom again. Blocking."""
        if not self.enrolled:
            raise SyncServiceError(t("ui.syncx.error.not_enrolled"))
        self.start()
        assert isinstance(self.runner, SyncRunner)
        return self.runner.run_once(tapped=True)

    async def sync_now_async(self) -> SyncReport:
        """``sync_now`` for a screen: in a thread on a PC, on the loop in the browser."""
        if self.transport_factory is None:
            return await asyncio.to_thread(self.sync_now)
        if not self.enrolled:
            raise SyncServiceError(t("ui.syncx.error.not_enrolled"))
        self.start()
        assert isinstance(self.runner, AsyncRunner)
        return await self.runner.run_once(tapped=True)

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.running

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, event: str, payload: Any) -> None:
        for fn in list(self._listeners):
            try:
                fn(event, payload)
            except RuntimeError:  # the tab's event loop is gone: forget it
                self.remove_listener(fn)
            except Exception:  # noqa: BLE001 - a broken tab must not stop the sync
                log.exception("sync listener failed")
                self.remove_listener(fn)

    def _on_progress(self, prog: Progress) -> None:
        self.progress = None if prog.phase == "done" else Progress(**vars(prog))
        self._emit("progress", prog)

    def _on_report(self, rep: SyncReport) -> None:
        self.progress = None
        if rep.ok:  # the engine has recorded the attempt (sync/client/history.py)
            self._names_from_reference()
        self._emit("report", rep)
        self.reports += 1

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """What the 同步 screen shows; "全部已同步" only when nothing waits in any direction."""
        st = sync_status(self.store, self.store.photos_to_upload())
        if self.running:
            # Mid-sync the outbox may be empty already while the pull and photos still run.
            st.state, st.message = "running", t("ui.syncx.running_status")
        h = read_history(self.store)
        failure = ({"at": fmt_time(h.failure.at_ms), "message": h.failure.message}
                   if h.failing and h.failure else None)
        moved = dict(vars(h.moved), at=fmt_time(h.moved.at_ms)) if h.moved else None
        return {
            "enrolled": self.enrolled, "state": st.state, "message": st.message,
            "server_url": (self.enrollment() or {}).get("server_url"),
            "outbox": st.outbox, "photos_to_upload": st.photos_to_upload,
            "photos_missing": st.photos_missing, "refused": st.refused,
            "last_ok_at": last_sync_text(self.store),  # the same text 首页 shows
            "failure": failure,  # the last attempt failed: when and why (None otherwise)
            "error": failure["message"] if failure else None,
            "moved": moved,  # the last attempt that moved data: up, down, refused, photos_up/down, kb, at
            "running": self.running, "progress": self.progress,
            "last_report": self.runner.last_report if self.runner else None,
            "notices": st.notices,  # a restored server, damaged device files (sync_status)
        }

    def record_state(self, record_id: str) -> str:
        """"pending" (waits for upload), "refused" (the server said no) or "synced"."""
        return self.record_states().get(record_id) or ("synced" if self.enrolled else "pending")

    def record_states(self) -> dict[str, str]:
        """Records not (yet) on the server, by id: "pending" or "refused" (one pass, for lists)."""
        out = {ch["id"]: "pending" for ch in self.store.pending_changes(limit=1_000_000)}
        for r in self.store.refused_changes():
            out[r["change"]["id"]] = "refused"
        return out

    # ------------------------------------------------------------------ conflicts
    def conflicts(self) -> list[dict[str, Any]]:
        """Open conflicts (not yet re-applied or dismissed), newest first, with both values."""
        done = set(self.store.meta_get(DISMISSED_KEY) or [])
        out = []
        for c in self.store.conflicts():
            key = conflict_key(c)
            if key in done:
                continue
            out.append({**c, "key": key, "kept_text": _value_text(c.get("kept_value")),
                        "lost_text": _value_text(c.get("lost_value"))})
        out.sort(key=lambda c: c.get("lost_stamp") or "", reverse=True)
        return out

    def _done(self, key: str) -> None:
        done = list(self.store.meta_get(DISMISSED_KEY) or [])
        if key not in done:
            self.store.meta_set(DISMISSED_KEY, done + [key])

    def dismiss_conflict(self, key: str) -> None:
        self._done(key)

    def reapply_conflict(self, key: str) -> None:
        """Make the lost value current again with a new edit (it syncs like any change)."""
        hit = next((c for c in self.conflicts() if c["key"] == key), None)
        if hit is None:
            raise SyncServiceError(t("ui.syncx.error.conflict_gone"))
        rec = self.store.get(hit["kind"], hit["record_id"])
        if rec is None:
            raise SyncServiceError(t("ui.syncx.error.record_gone"))
        self.services.edit_record(rec, {hit["field"]: hit["lost_value"]})
        self._done(key)

    # ------------------------------------------------------------------ bundles
    def export(self) -> dict[str, Any]:
        """Write a .gwb bundle into DATA/exports/ (deletes nothing). Blocking."""
        en = self.enrollment()
        if en is None:
            raise SyncServiceError(t("ui.syncx.error.not_enrolled"))
        folder = Path(self.store.data_dir) / "exports"
        stamp = file_stamp(time.time() * 1000)  # China time, as shown
        out = folder / f"gridwall-{en['device_id'][:8]}-{stamp}.gwb"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            s = export_bundle(self.store, out, device_id=en["device_id"],
                              user=(en.get("user") or {}).get("id"), secret=bytes.fromhex(en["secret"]))
        except OSError as exc:
            raise SyncServiceError(t("ui.syncx.error.write", path=out, error=exc.strerror or exc)) from None
        return {"paths": [str(p) for p in s.paths], "changes": s.changes, "photos": s.photos,
                "kb": round(s.bytes / 1024, 1)}

    def import_return(self, data: bytes | Path) -> dict[str, Any]:
        """Apply a return bundle from the operator. Blocking. Bad bundles change nothing."""
        en = self.enrollment()
        if en is None:
            raise SyncServiceError(t("ui.syncx.error.not_enrolled"))
        try:
            s = apply_return(self.store, data, device_id=en["device_id"], secret=bytes.fromhex(en["secret"]))
        except BundleError as exc:
            raise SyncServiceError(exc.message) from None
        self._names_from_reference()
        return {"acked": s.acked, "refused": len(s.refused), "records": s.records, "photos": s.photos}


def _enroll_input(server_url: str, code: str, device_name: str) -> tuple[str, str, str]:
    """The enrol form checked: (url, code, device name); SyncServiceError in plain words."""
    url = (server_url or "").strip()
    if not url.startswith(("http://", "https://")):
        raise SyncServiceError(t("ui.syncx.error.url"))
    if not (code or "").strip():
        raise SyncServiceError(t("ui.syncx.error.code"))
    return url, code, (device_name or "").strip() or t("ui.syncx.default_device")


def _value_text(v: Any) -> str:
    if v is None:
        return t("ui.syncx.value_none")
    if isinstance(v, bool):
        return t("ui.syncx.yes") if v else t("ui.syncx.no")
    if isinstance(v, (list, tuple)):
        return "、".join(_value_text(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value_text(x)}" for k, x in v.items())
    return str(v)
