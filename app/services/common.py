"""What every feature of the services shares: rows' dates and times, photo references, the
error for people, input cleaning, and ``Core`` (the device store, its lock, the profile, and
the one way a record is created or edited)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import runtime
from app.store import Store
from sync import records as rec_mod
from sync.changes import edit_change, new_record
from sync.chinatime import china_today, fmt_date, fmt_time  # noqa: F401 - re-exported to the screens
from sync.client.history import read_history
from sync.i18n import t
from sync.ids import id_time_ms, new_id

VERSION = "0.1.0"
DEFAULT_VISIT_INTERVAL_DAYS = 30
ROLE = "grid_worker"  # the field app is the grid worker's; staff use the reviewer app
_PINYIN_CACHE: dict[str, str] = {}


@dataclass
class PhotoRef:
    """A processed photo waiting to be attached to a record (stored on disk already)."""

    sha256: str
    thumb: bytes
    width: int = 0
    height: int = 0
    size: int = 0


class ServiceError(Exception):
    """A message for people (already translated)."""


def initials(text: str) -> str:
    """Pinyin initials of Chinese text (``王建国`` -> ``wjg``); other characters kept."""
    if not text:
        return ""
    hit = _PINYIN_CACHE.get(text)
    if hit is not None:
        return hit
    from pypinyin import Style, lazy_pinyin

    out = "".join(p[:1] for p in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"))
    out = out.lower()
    _PINYIN_CACHE[text] = out
    return out


def now_ms() -> int:
    return int(time.time() * 1000)


def last_sync_text(store: Any) -> str:
    """The last successful sync, as 首页 and 同步 both show it ("" when never), from the one
    record the sync engine keeps (whoever ran the sync: the app, the shell, the demo)."""
    return fmt_time(read_history(store).ok_ms)



class Core:
    """The device store and who works on it; the features build on this."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()  # one writer at a time: browser tabs share the device

    # ------------------------------------------------------------------ open / profile
    @classmethod
    def open(cls, data_dir: Path | str) -> Core:
        store = Store.open(Path(data_dir))
        svc = cls(store)
        svc._ensure_profile()
        return svc

    def close(self) -> None:
        self.store.close()

    def _ensure_profile(self) -> None:
        if self.store.meta_get("profile"):
            return
        # Before enrollment (sync engine) the device works for a local grid of its own.
        self.set_profile(user_id=new_id(), user_name=t("ui.profile.default_user"),
                         grid_id=new_id(), grid_name=t("ui.profile.default_grid"),
                         village_id=new_id(), village=t("ui.profile.default_village"))

    def set_profile(self, *, user_id: str, user_name: str, grid_id: str, grid_name: str,
                    village_id: str, village: str,
                    visit_interval_days: int = DEFAULT_VISIT_INTERVAL_DAYS) -> None:
        """Who works on this device and for which grid (enrollment will set this later)."""
        self.store.meta_set("profile", {
            "user_id": user_id, "user_name": user_name, "grid_id": grid_id,
            "grid_name": grid_name, "village_id": village_id, "village": village,
            "visit_interval_days": visit_interval_days,
        })

    @property
    def profile(self) -> dict[str, Any]:
        return dict(self.store.meta_get("profile") or {})

    @property
    def user_id(self) -> str:
        return self.profile["user_id"]

    @property
    def grid_id(self) -> str:
        return self.profile["grid_id"]

    @staticmethod
    def now_ms() -> int:
        return now_ms()

    def language(self) -> str:
        return self.store.meta_get("language") or "zh"

    def set_language(self, lang: str) -> None:
        if self.store.meta_get("language") != lang:
            self.store.meta_set("language", lang)

    def about(self) -> dict[str, Any]:
        p = self.profile
        return {"data_dir": str(self.store.data_dir.resolve()), "user": p.get("user_name", ""),
                "grid": p.get("grid_name", ""), "version": runtime.version(VERSION)}

    # ------------------------------------------------------------------ writing
    def create_record(self, kind: str, fields: dict[str, Any]) -> dict:
        with self.lock:
            _record, change = new_record(kind, self.grid_id, fields, self.store.clock,
                                                 self.user_id)
            return self.store.save(change)

    def edit_record(self, record: dict, fields: dict[str, Any]) -> dict:
        """Save the fields that differ; nothing differing is not an error for a form."""
        current = record.get("fields", {})
        changed = {k: v for k, v in fields.items()
                   if current.get(k) != v and not (_blank(current.get(k)) and _blank(v))}
        if not changed:
            return record
        with self.lock:
            change = edit_change(record, changed, self.store.clock, self.user_id)
            return self.store.save(change)

    def validate(self, kind: str, fields: dict[str, Any], partial: bool = False) -> dict[str, str]:
        """Field name -> message for people (empty when valid)."""
        errors: dict[str, str] = {}
        for e in rec_mod.validate_record(kind, fields, partial=partial):
            errors.setdefault(e.field, e.message)
        return errors



def _blank(v: Any) -> bool:
    return v is None or v == "" or v == []



def location_text(loc: Any) -> str:
    """Where a record was made, for people: coordinates (5 places, ~1 m) and accuracy; "" for none."""
    if not isinstance(loc, dict) or "lat" not in loc or "lon" not in loc:
        return ""
    lat, lon = f"{loc['lat']:.5f}", f"{loc['lon']:.5f}"
    if isinstance(loc.get("accuracy"), int | float):
        return t("ui.location.shown", lat=lat, lon=lon, accuracy=round(loc["accuracy"]))
    return t("ui.location.shown_plain", lat=lat, lon=lon)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """Strip text, drop empty optional values, so validation sees what a person meant."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, str):
            v = v.strip()
            if v == "":
                continue
        if v is None:
            continue
        out[k] = v
    return out


def reported_at(rec: dict, st: Any) -> int:
    """When an issue was reported: its report event's time (ids made in a batch can be later)."""
    return next((rec_mod.parse_time_ms(e.event["fields"].get("at")) for e in st.timeline
                 if e.type == "report"), None) or id_time_ms(rec["id"])


