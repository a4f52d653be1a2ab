"""What the screens call. The only module of the app that touches the store and the model.

Screens get plain dicts ("rows") ready to show and hand back plain dicts of field values;
everything about records, changes, clocks, the issue fold and photo files stays here. One
``Services`` per data folder (one device); browser tabs of the same app share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store import Store
from sync import records as rec_mod
from sync import reference
from sync.changes import edit_change, new_record
from sync.chinatime import fmt_date, fmt_time  # noqa: F401 - the screens import them from here
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


def _now_ms() -> int:
    return int(time.time() * 1000)


def last_sync_text(store: Any) -> str:
    """The last successful sync, as 首页 and 同步 both show it ("" when never), from the one
    record the sync engine keeps (whoever ran the sync: the app, the shell, the demo)."""
    return fmt_time(read_history(store).ok_ms)


class Services:
    """The app's door to the device store and the shared model."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.RLock()
        self._search: dict[str, tuple[str, str]] = {}  # household id -> (stamp key, text)
        self.upload_dir: Path | None = None  # where the browser view puts picked files

    # ------------------------------------------------------------------ open / profile
    @classmethod
    def open(cls, data_dir: Path | str) -> Services:
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
        return _now_ms()

    def language(self) -> str:
        return self.store.meta_get("language") or "zh"

    def set_language(self, lang: str) -> None:
        if self.store.meta_get("language") != lang:
            self.store.meta_set("language", lang)

    def about(self) -> dict[str, Any]:
        p = self.profile
        return {"data_dir": str(self.store.data_dir.resolve()), "user": p.get("user_name", ""),
                "grid": p.get("grid_name", ""), "version": VERSION}

    # ------------------------------------------------------------------ writing
    def _create(self, kind: str, fields: dict[str, Any]) -> dict:
        with self._lock:
            _record, change = new_record(kind, self.grid_id, fields, self.store.clock,
                                                 self.user_id)
            return self.store.save(change)

    def _edit(self, record: dict, fields: dict[str, Any]) -> dict:
        """Save the fields that differ; nothing differing is not an error for a form."""
        current = record.get("fields", {})
        changed = {k: v for k, v in fields.items()
                   if current.get(k) != v and not (_blank(current.get(k)) and _blank(v))}
        if not changed:
            return record
        with self._lock:
            change = edit_change(record, changed, self.store.clock, self.user_id)
            return self.store.save(change)

    def validate(self, kind: str, fields: dict[str, Any], partial: bool = False) -> dict[str, str]:
        """Field name -> message for people (empty when valid)."""
        errors: dict[str, str] = {}
        for e in rec_mod.validate_record(kind, fields, partial=partial):
            errors.setdefault(e.field, e.message)
        return errors

    # ------------------------------------------------------------------ reference data
    def care_tags(self) -> list[str]:
        return list(rec_mod.CARE_TAGS)

    def categories(self) -> list[dict[str, Any]]:
        """The category tree: [{id, name, children: [{id, name}]}], always ending with 其他.

        Pulled reference data when the device has it, else the built-in tree."""
        refs = self.store.all("category")
        if refs:
            top = [r for r in refs if not r["fields"].get("parent")]
            top.sort(key=lambda r: (r["fields"].get("order") or 0, r["fields"].get("name", "")))
            tree = []
            for r in top:
                kids = [c for c in refs if c["fields"].get("parent") == r["id"]]
                kids.sort(key=lambda c: (c["fields"].get("order") or 0, c["fields"].get("name", "")))
                tree.append({"id": r["id"], "name": r["fields"].get("name", ""),
                             "children": [{"id": c["id"], "name": c["fields"].get("name", "")}
                                          for c in kids]})
            return tree
        # Before the first sync: the shared default tree, named through the catalog.
        return [{"id": top.id, "name": t(f"ui.cat.{top.id}"),
                 "children": [{"id": f"{top.id}.{c}", "name": t(f"ui.cat.{top.id}.{c}")}
                              for c, _ in top.children]}
                for top in reference.CATEGORIES]

    def category_labels(self) -> dict[str, str]:
        """Category id -> label (``top`` or ``top / child``); build it once for a list."""
        labels: dict[str, str] = {}
        for top in self.categories():
            labels.setdefault(top["id"], top["name"])
            for c in top["children"]:
                labels.setdefault(c["id"], f"{top['name']} / {c['name']}")
        return labels

    def category_name(self, cid: str | None, labels: dict[str, str] | None = None) -> str:
        if not cid:
            return ""
        return (self.category_labels() if labels is None else labels).get(cid, cid)

    @staticmethod
    def choices(name: str) -> list[tuple[str, str]]:
        """(value, label) pairs of a choice field of the shared model."""
        values = {"visit_kind": rec_mod.VISIT_KINDS, "issue_kind": rec_mod.ISSUE_KINDS,
                  "appeal_type": rec_mod.APPEAL_TYPES, "urgency": rec_mod.URGENCIES,
                  "reporter_visibility": rec_mod.REPORTER_VISIBILITY}[name]
        field = "kind" if name == "visit_kind" else name
        return [(v, rec_mod.choice_label(field, v)) for v in values]

    # ------------------------------------------------------------------ households
    def _search_text(self, rec: dict) -> str:
        f = rec["fields"]
        stamp_key = max(rec.get("stamps", {}).values(), default="")
        hit = self._search.get(rec["id"])
        if hit and hit[0] == stamp_key:
            return hit[1]
        names = [f.get("head") or ""] + [m.get("name", "") for m in f.get("members") or []
                                         if isinstance(m, dict)]
        text = " ".join([*names, f.get("address") or "", f.get("phone") or "",
                         *[initials(n) for n in names if n]]).lower()
        self._search[rec["id"]] = (stamp_key, text)
        return text

    def warm(self) -> None:
        """Build the search index (pinyin initials) ahead of the first search; run it in a
        background thread at start-up: about 0.4 s for 3,000 households."""
        for r in self.store.all("household"):
            self._search_text(r)

    def household_row(self, rec: dict, last_visit: dict[str, int] | None = None) -> dict[str, Any]:
        f = rec["fields"]
        lv = (last_visit or {}).get(rec["id"])
        return {
            "id": rec["id"], "title": f.get("head") or "?", "address": f.get("address") or "",
            "phone": f.get("phone") or "", "tags": list(f.get("care_tags") or []),
            "members": len(f.get("members") or []) or f.get("member_count") or 0,
            "last_visit": lv,
            "last_visit_text": (t("ui.household.last_visit", date=fmt_date(lv)) if lv
                                else t("ui.household.never_visited")),
        }

    def _last_visits(self) -> dict[str, int]:
        last: dict[str, int] = {}
        for v in self.store.all("visit"):
            hid = v["fields"].get("household")
            at = rec_mod.parse_time_ms(v["fields"].get("time")) or id_time_ms(v["id"])
            if hid and at > last.get(hid, 0):
                last[hid] = at
        return last

    def households(self, query: str = "", tag: str | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """Households matching a name / address / phone / pinyin-initials query and a tag."""
        q = query.strip().lower()
        recs = self.store.all("household")
        out = []
        for r in recs:
            if tag and tag not in (r["fields"].get("care_tags") or []):
                continue
            if q and q not in self._search_text(r):
                continue
            out.append(r)
        out.sort(key=lambda r: (r["fields"].get("address") or "", r["fields"].get("head") or ""))
        if limit is not None:
            out = out[:limit]
        last = self._last_visits()
        return [self.household_row(r, last) for r in out]

    def household(self, hid: str) -> dict[str, Any] | None:
        rec = self.store.get("household", hid)
        if rec is None:
            return None
        row = self.household_row(rec, self._last_visits())
        f = rec["fields"]
        row["fields"] = dict(f)
        row["members_list"] = [m for m in f.get("members") or [] if isinstance(m, dict)]
        row["note"] = f.get("note") or ""
        row["visits"] = self.visits(household_id=hid)
        row["issues"] = self.issues(household_id=hid)
        return row

    def household_label(self, hid: str | None) -> str:
        if not hid:
            return ""
        rec = self.store.get("household", hid)
        if rec is None:
            return ""
        f = rec["fields"]
        return f"{f.get('head') or ''} · {f.get('address') or ''}"

    def save_household(self, values: dict[str, Any], hid: str | None = None
                       ) -> tuple[str | None, dict[str, str]]:
        """Create or edit; returns (id, {}) or (None, errors)."""
        fields = _clean(values)
        fields.setdefault("village", self.profile.get("village_id", "village"))
        errors = self.validate("household", fields)
        if errors:
            return None, errors
        if hid:
            rec = self.store.get("household", hid)
            if rec is None:
                raise ServiceError(t("ui.error.gone"))
            # a field the form emptied is cleared (None), not left at its old value
            editable = ("phone", "member_count", "members", "care_tags", "note")
            cleared = {k: None for k in editable
                       if k not in fields and rec["fields"].get(k) not in (None, "", [])}
            return self._edit(rec, {**fields, **cleared})["id"], {}
        return self._create("household", fields)["id"], {}

    # ------------------------------------------------------------------ photos
    def add_photo(self, data: bytes) -> PhotoRef:
        """Process picked bytes (orientation, EXIF stripped, resized) and keep them on disk.

        Raises ServiceError with the pipeline's message for non-images and bombs."""
        from sync import photos as photo_mod  # Pillow: load it when the first photo comes

        try:
            p = photo_mod.process_photo(data)
        except photo_mod.PhotoError as exc:
            raise ServiceError(str(exc)) from None
        self.store.put_photo_file(p.sha256, p.jpeg, p.thumb)
        return PhotoRef(sha256=p.sha256, thumb=p.thumb, width=p.width, height=p.height,
                        size=len(p.jpeg))

    def _attach_photos(self, owner_kind: str, owner_id: str, refs: Iterable[PhotoRef]) -> list[str]:
        shas = []
        for ref in refs:
            self._create("photo", {
                "sha256": ref.sha256, "size": ref.size, "width": ref.width, "height": ref.height,
                "taken_at": _now_ms(), "attached_to": {"kind": owner_kind, "id": owner_id},
            })
            shas.append(ref.sha256)
        return shas

    def upload_prefix(self, session_id: str) -> str:
        """Folder (inside the upload dir) for one browser session's uploads."""
        return "s-" + "".join(c for c in session_id if c.isalnum())[:32]

    def take_upload(self, name: str) -> bytes | None:
        """Bytes of a file the browser uploaded, removed from the upload folder once read."""
        if self.upload_dir is None:
            return None
        base = self.upload_dir.resolve()
        path = (base / name).resolve()
        if base not in path.parents:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        path.unlink(missing_ok=True)
        return data

    def thumb(self, sha: str) -> bytes | None:
        try:
            return self.store.thumb_path(sha).read_bytes()
        except (FileNotFoundError, OSError):
            return None

    def photo(self, sha: str) -> bytes | None:
        return self.store.photo_bytes(sha)

    # ------------------------------------------------------------------ visits
    def visit_row(self, rec: dict) -> dict[str, Any]:
        f = rec["fields"]
        at = rec_mod.parse_time_ms(f.get("time")) or id_time_ms(rec["id"])
        return {
            "id": rec["id"], "household": f.get("household"),
            "household_label": self.household_label(f.get("household")),
            "kind": f.get("kind") or "", "at": at, "at_text": fmt_time(at),
            "people_met": f.get("people_met") or "", "seen": f.get("seen") or "",
            "said": f.get("said") or "", "photos": list(f.get("photos") or []),
            "demands": list(f.get("demands") or []),
        }

    def visits(self, household_id: str | None = None, limit: int | None = None) -> list[dict]:
        recs = self.store.all("visit")
        if household_id:
            recs = [r for r in recs if r["fields"].get("household") == household_id]
        rows = [self.visit_row(r) for r in recs]
        rows.sort(key=lambda r: r["at"], reverse=True)
        return rows[:limit] if limit else rows

    def visit(self, vid: str) -> dict[str, Any] | None:
        rec = self.store.get("visit", vid)
        if rec is None:
            return None
        row = self.visit_row(rec)
        row["demand_issues"] = [i for i in (self.issue_row_by_id(x) for x in row["demands"]) if i]
        return row

    def save_visit(self, values: dict[str, Any], demands: list[dict[str, Any]],
                   photos: list[PhotoRef]) -> tuple[str | None, dict[str, str]]:
        """A visit, its photos and one new issue per demand, in one step.

        Demands are validated first, so a bad demand saves nothing."""
        fields = _clean(values)
        fields.setdefault("time", _now_ms())
        fields["visitor"] = self.user_id
        errors = self.validate("visit", {**fields, "photos": [p.sha256 for p in photos]})
        demand_fields = []
        for i, d in enumerate(demands):
            df = self._issue_fields({**d, "household": fields.get("household")})
            for k, v in self.validate("issue", df).items():
                errors.setdefault(f"demand{i}.{k}", v)
            demand_fields.append(df)
        if errors:
            return None, errors
        issue_ids = [self._create_issue(df, [])["id"] for df in demand_fields]
        fields["demands"] = issue_ids
        fields["photos"] = [p.sha256 for p in photos]
        rec = self._create("visit", fields)
        self._attach_photos("visit", rec["id"], photos)
        return rec["id"], {}

    # ------------------------------------------------------------------ issues
    def _issue_fields(self, values: dict[str, Any]) -> dict[str, Any]:
        fields = _clean(values)
        fields.setdefault("issue_kind", "problem")
        fields.setdefault("reporter_visibility", "named")
        fields.setdefault("urgency", "normal")
        fields["reporter"] = self.user_id
        return fields

    def _create_issue(self, fields: dict[str, Any], photos: list[PhotoRef]) -> dict:
        fields = {**fields, "photos": [p.sha256 for p in photos]}
        if not fields["photos"]:
            del fields["photos"]
        rec = self._create("issue", fields)
        self._attach_photos("issue", rec["id"], photos)
        self._event(rec["id"], "report", {})
        return rec

    def save_issue(self, values: dict[str, Any], photos: list[PhotoRef]
                   ) -> tuple[str | None, dict[str, str]]:
        """A new problem or wish with its photos and its ``report`` event."""
        fields = self._issue_fields(values)
        errors = self.validate("issue", fields)
        if errors:
            return None, errors
        return self._create_issue(fields, photos)["id"], {}

    def _events_by_issue(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for e in self.store.all("issue_event"):
            out.setdefault(e["fields"].get("issue"), []).append(e)
        return out

    def _event(self, iid: str, etype: str, data: dict[str, Any]) -> dict:
        from sync import workflow as wf

        issue = self.store.get("issue", iid)
        if issue is None:
            raise ServiceError(t("ui.error.gone"))
        with self._lock:
            _rec, change = wf.new_event(issue, etype, data, self.store.clock, self.user_id,
                                        ROLE, after=self._events_by_issue().get(iid, []))
            return self.store.save(change)

    @staticmethod
    def _fold(rec: dict, events: list[dict]) -> Any:
        from sync import workflow as wf

        return wf.fold(rec, events)

    def issue_row(self, rec: dict, st: Any, labels: dict[str, str] | None = None) -> dict[str, Any]:
        f = rec["fields"]
        at = reported_at(rec, st)
        return {
            "id": rec["id"], "title": f.get("title") or "", "kind": f.get("issue_kind") or "problem",
            "status": _status(st), "urgency": f.get("urgency") or "normal",
            "category": self.category_name(f.get("category"), labels),
            "appeal_type": f.get("appeal_type") or "",
            "household": f.get("household"),
            "household_label": self.household_label(f.get("household")),
            "photos": list(f.get("photos") or []), "at": at,
            "at_text": fmt_date(at), "reporter": f.get("reporter"),
            "overdue": _overdue(st), "flagged": bool(st.flagged),
            "redo_count": st.redo_count, "supervised": st.supervised,
        }

    def issue_row_by_id(self, iid: str) -> dict[str, Any] | None:
        rec = self.store.get("issue", iid)
        if rec is None:
            return None
        return self.issue_row(rec, self._fold(rec, self._events_by_issue().get(iid, [])))

    def issues(self, status: str | None = None, household_id: str | None = None,
               kind: str | None = None) -> list[dict[str, Any]]:
        """Issues (newest first), each with its status from the fold of its events."""
        events = self._events_by_issue()
        labels = self.category_labels()  # once, not per row
        rows = []
        for rec in self.store.all("issue"):
            f = rec["fields"]
            if household_id and f.get("household") != household_id:
                continue
            if kind and (f.get("issue_kind") or "problem") != kind:
                continue
            row = self.issue_row(rec, self._fold(rec, events.get(rec["id"], [])), labels)
            if status and row["status"] != status:
                continue
            rows.append(row)
        rows.sort(key=lambda r: r["at"], reverse=True)
        return rows

    def issue_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.issues():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return counts

    def issue(self, iid: str) -> dict[str, Any] | None:
        """One issue with its timeline (every event, invalid ones flagged) and what I may do."""
        rec = self.store.get("issue", iid)
        if rec is None:
            return None
        events = self._events_by_issue().get(iid, [])
        st = self._fold(rec, events)
        row = self.issue_row(rec, st)
        f = rec["fields"]
        row.update({
            "description": f.get("description") or "",
            "visibility": f.get("reporter_visibility") or "named",
            "appeal_label": rec_mod.choice_label("appeal_type", f["appeal_type"])
            if f.get("appeal_type") else "",
            "urgency_label": rec_mod.choice_label("urgency", f.get("urgency") or "normal"),
            "timeline": [self._timeline_row(e) for e in st.timeline],
            "actions": self.actions_for(st, row["kind"]),
            "claimed_by": getattr(st, "claimed_by", None),
        })
        return row

    def _timeline_row(self, entry: Any) -> dict[str, Any]:
        from sync import workflow as wf

        e = entry.event
        f = e["fields"]
        data = f.get("data") or {}
        # a unit shows by its name (reference data), never by its id
        parts = [self.unit_name(data[k]) if k == "unit" else str(data[k])
                 for k in ("text", "note", "reason", "reply", "outcome", "by", "unit", "deadline")
                 if data.get(k)]
        if "solved" in data:
            parts.insert(0, t("ui.issue.verdict",
                              solved=t("ui.yes") if data["solved"] else t("ui.no"),
                              satisfied=t("ui.yes") if data.get("satisfied") else t("ui.no")))
        return {"id": e["id"], "type": f.get("type"),
                "type_label": wf.event_label(f.get("type") or ""),
                "state_label": wf.state_label(entry.state),
                "flag": entry.reason_text(),
                "at_text": fmt_time(rec_mod.parse_time_ms(f.get("at"))),
                "actor": self._user_name(f.get("actor")), "detail": "；".join(parts),
                "flagged": not entry.valid, "photos": list(data.get("photos") or [])}

    def unit_name(self, uid: str | None) -> str:
        """A unit's name from the pulled reference data, else the built-in list, else its id."""
        if not uid:
            return ""
        rec = self.store.get("unit", uid)
        if rec is not None:
            return str(rec["fields"].get("name") or uid)
        from sync import reference

        return dict(reference.UNITS).get(uid, uid)

    def _user_name(self, uid: str | None) -> str:
        if not uid:
            return ""
        if uid == self.user_id:
            return self.profile.get("user_name", "")
        rec = self.store.get("user", uid)
        return (rec or {}).get("fields", {}).get("name") or t("ui.issue.staff")

    def actions_for(self, st: Any, kind: str) -> list[str]:
        """Event types this worker may emit on the issue now (the shared role rules decide)."""
        from sync import workflow as wf

        wanted = ("claim", "fulfil") if kind == "wish" else ("recheck",)
        out = []
        for etype in (*wanted, "comment"):
            rule = wf.TRANSITIONS.get((st.issue_kind, etype))
            if wf.may_emit(ROLE, etype) and rule and st.state in rule[0]:
                out.append(etype)
        return out

    def comment(self, iid: str, text: str) -> dict[str, str]:
        if not text.strip():
            return {"text": t("ui.error.comment_empty")}
        return self._checked_event(iid, "comment", {"text": text.strip()})

    def recheck(self, iid: str, solved: bool | None, satisfied: bool | None,
                why_not: str = "") -> dict[str, str]:
        """Record the resident's verdict (回头看); 'not solved / not satisfied' needs a why."""
        errors: dict[str, str] = {}
        if solved is None:
            errors["solved"] = t("ui.error.pick_solved")
        if satisfied is None:
            errors["satisfied"] = t("ui.error.pick_satisfied")
        if (solved is False or satisfied is False) and not why_not.strip():
            errors["reason"] = t("ui.error.why_not")
        if errors:
            return errors
        data: dict[str, Any] = {"solved": solved, "satisfied": satisfied}
        if why_not.strip():
            data["reason"] = why_not.strip()
        return self._checked_event(iid, "recheck", data)

    def claim(self, iid: str, who: str) -> dict[str, str]:
        if not who.strip():
            return {"by": t("ui.error.claim_who")}
        return self._checked_event(iid, "claim", {"by": who.strip()})

    def fulfil(self, iid: str, note: str, photos: list[PhotoRef]) -> dict[str, str]:
        shas = self._attach_photos("issue", iid, photos)
        data: dict[str, Any] = {"photos": shas}
        if note.strip():
            data["note"] = note.strip()
        return self._checked_event(iid, "fulfil", data)

    def _checked_event(self, iid: str, etype: str, data: dict[str, Any]) -> dict[str, str]:
        errors = {e.field.removeprefix("data."): e.message
                  for e in rec_mod.event_data_errors(etype, data)}
        if errors:
            return errors
        self._event(iid, etype, data)
        return {}

    # ------------------------------------------------------------------ home, outbox
    def today(self) -> dict[str, Any]:
        p = self.profile
        days = int(p.get("visit_interval_days") or DEFAULT_VISIT_INTERVAL_DAYS)
        cutoff = _now_ms() - days * 86_400_000
        due = [h for h in self.households() if not h["last_visit"] or h["last_visit"] < cutoff]
        due.sort(key=lambda h: h["last_visit"] or 0)
        recheck = self.issues(status="resolved")
        return {"user_name": p.get("user_name", ""), "grid_name": p.get("grid_name", ""),
                "unsynced": self.store.outbox_size(),
                "last_sync": last_sync_text(self.store),
                "due": due, "recheck": recheck, "interval_days": days}

    def outbox(self) -> dict[str, Any]:
        """What waits for upload, read from the store (nothing estimated): changes by kind
        (a photo's attachment record is a change), and photo files the server has not
        confirmed yet, the queue the sync engine uploads (one photo file may be attached twice)."""
        by_kind: dict[str, int] = {}
        for ch in self.store.pending_changes(limit=1_000_000):
            by_kind[ch["kind"]] = by_kind.get(ch["kind"], 0) + 1
        shas = self.store.photos_to_upload()
        nbytes = 0
        for sha in shas:
            try:
                nbytes += self.store.photo_path(sha).stat().st_size
            except OSError:
                pass
        refused = [{"change_id": r["change"]["change_id"], "kind": r["change"]["kind"],
                    "reason": r["reason"]} for r in self.store.refused_changes()]
        return {"changes": self.store.outbox_size(), "by_kind": by_kind, "photos": len(shas),
                "photo_bytes": nbytes, "photo_bytes_text": _size_text(nbytes),
                "last_sync": last_sync_text(self.store), "refused": refused,
                "conflicts": len(self.store.conflicts())}


def _blank(v: Any) -> bool:
    return v is None or v == "" or v == []


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.0f} KB"


def _clean(values: dict[str, Any]) -> dict[str, Any]:
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


def _status(st: Any) -> str:
    return str(st.state)


def _overdue(st: Any) -> bool:
    from sync import workflow as wf

    return wf.is_overdue(st, _now_ms())
