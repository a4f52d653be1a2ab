"""问题墙: issues and wishes by status with counts, new issue / wish, detail with the timeline
from the workflow fold, comment, re-check with the resident's verdict, claim and fulfil."""

from __future__ import annotations

from typing import Any

import flet as ft

from app import runtime
from app.ui.forms import (
    HouseholdPicker,
    PhotoStrip,
    choice_chips,
    error_banner,
    finish_save,
    label_text,
    text_field,
    thumbs,
    use_form,
)
from app.ui.location import use_position
from app.ui.state import AppState, use_app
from app.ui.widgets import (
    TOUCH,
    badge,
    chip,
    detail_view,
    empty,
    go,
    place_line,
    row_tile,
    section,
    tab_view,
)
from sync.i18n import t

PROBLEM_ORDER = ("submitted", "accepted", "assigned", "in_progress", "resolved", "rechecked", "closed")
WISH_ORDER = ("collected", "claimed", "fulfilled", "closed")
URGENCY_COLORS = {"urgent": ft.Colors.ORANGE_200, "critical": ft.Colors.RED_200}


@ft.component
def IssuesScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    kind, set_kind = ft.use_state("problem")
    status, set_status = ft.use_state(None)
    rows_all = svc.issues(kind=kind)
    counts: dict[str, int] = {}
    for r in rows_all:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    rows = [r for r in rows_all if status is None or r["status"] == status]
    order = PROBLEM_ORDER if kind == "problem" else WISH_ORDER

    def pick_kind(k: str) -> Any:
        def h(_: Any) -> None:
            set_kind(k)
            set_status(None)
        return h

    def pick_status(s: str | None) -> Any:
        return lambda _: set_status(None if s == status else s)

    controls: list[ft.Control] = [
        ft.Row([chip(t(f"ui.issue.kind.{k}"), f"issue-kind:{k}", kind == k, pick_kind(k))
                for k in ("problem", "wish")]),
        ft.Row([chip(t("ui.issue.all", n=len(rows_all)), "status:all", status is None, pick_status(None))]
               + [chip(f"{t('ui.status.' + s)} {counts.get(s, 0)}", f"status:{s}", status == s, pick_status(s))
                  for s in order],
               wrap=True, spacing=6, run_spacing=6),
    ]
    if not rows:
        controls.append(empty(t("ui.issue.none")))
    for r in rows:
        leading = None
        if r["photos"]:
            data = svc.thumb(r["photos"][0])
            if data:
                leading = ft.Image(src=data, width=48, height=48, fit=ft.BoxFit.COVER, border_radius=6)
        trail = [badge(t(f"ui.status.{r['status']}"))]
        if r["urgency"] in URGENCY_COLORS:
            trail.insert(0, badge(t(f"ui.urgency.{r['urgency']}"), URGENCY_COLORS[r["urgency"]]))
        sub = " · ".join(x for x in (r["household_label"], r["at_text"]) if x)
        controls.append(row_tile(f"issue:{r['id']}", r["title"], sub, leading=leading,
                                 trailing=ft.Column(trail, spacing=2, tight=True),
                                 on_click=lambda _, i=r["id"]: go(f"/issues/{i}")))
    fab = ft.FloatingActionButton(t("ui.home.new_issue"), icon=ft.Icons.ADD, key="issue-add",
                                  on_click=lambda _: go("/issues/new"))
    return tab_view(3, t("ui.issue.title"), controls, fab=fab)


def _issue_fields(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("issue_kind", "appeal_type", "category", "title", "description", "urgency", "household",
            "reporter_visibility")
    return {k: values.get(k) for k in keys if values.get(k) not in (None, "")}


@ft.component
def IssueForm() -> ft.View:
    state = use_app()
    svc = state.services
    initial = {"issue_kind": "problem", "appeal_type": None, "category": None, "title": "",
               "description": "", "urgency": "normal", "household": None,
               "reporter_visibility": "named", "top_category": None}

    def validate(values: dict[str, Any]) -> dict[str, str]:
        return svc.validate("issue", {**_issue_fields(values), "reporter": svc.user_id})

    form = use_form("issue:new", "issue", initial, validate)
    position = use_position()
    tree = svc.categories()
    top = form.values.get("top_category")

    def save(_: Any) -> None:
        iid, errors = svc.save_issue(position.add_to(_issue_fields(form.values)), form.photos)
        finish_save(state, form, errors, t("ui.saved"), f"/issues/{iid}")

    def pick_top(v: str | None) -> None:
        form.set_many({"top_category": v, "category": v})

    controls: list[ft.Control] = [
        *error_banner(form),
        choice_chips("kind", [(k, t(f"ui.issue.kind.{k}")) for k, _ in svc.choices("issue_kind")],
                     form.values.get("issue_kind"), lambda v: form.set("issue_kind", v)),
        text_field(form, "title", t("ui.issue.title_field")),
        text_field(form, "description", t("ui.issue.description"), multiline=True),
        label_text(t("ui.issue.category")),
        choice_chips("cat", [(c["id"], c["name"]) for c in tree], top, pick_top, allow_none=True,
                     error=form.error("category")),
    ]
    other = tree[-1]["name"] if tree else ""  # the tree always ends with 其他
    for c in tree:
        # A category picked with no child already means 其他 within it: a child 其他 would be
        # a second 其他 chip on the screen saying the same thing.
        kids = [s for s in c["children"] if s["name"] != other]
        if c["id"] == top and kids:
            controls.append(choice_chips("subcat", [(s["id"], s["name"]) for s in kids],
                                         form.values.get("category"),
                                         lambda v, c=c: form.set("category", v or c["id"]), allow_none=True))
    controls += [
        label_text(t("ui.issue.appeal_type")),
        choice_chips("appeal", svc.choices("appeal_type"), form.values.get("appeal_type"),
                     lambda v: form.set("appeal_type", v), allow_none=True, error=form.error("appeal_type")),
        label_text(t("ui.issue.urgency")),
        choice_chips("urgency", svc.choices("urgency"), form.values.get("urgency"),
                     lambda v: form.set("urgency", v), error=form.error("urgency")),
        HouseholdPicker("issue", form.values.get("household"), lambda h: form.set("household", h),
                        form.error("household")),
        label_text(t("ui.issue.visibility")),
        choice_chips("visibility", svc.choices("reporter_visibility"),
                     form.values.get("reporter_visibility"), lambda v: form.set("reporter_visibility", v)),
        section(t("ui.photo.title")),
        PhotoStrip(form.photos, form.set_photos, "issue-photo"),
    ]
    bottom = ft.FilledButton(t("ui.issue.submit"), key="save", icon=ft.Icons.SEND, on_click=save,
                             height=TOUCH, expand=True)
    return detail_view(t("ui.issue.new"), controls, bottom=ft.Row([bottom]))


@ft.component
def IssueDetail() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    iid = ft.use_route_params().get("iid", "")
    comment, set_comment = ft.use_state("")
    verdict, set_verdict = ft.use_state({"solved": None, "satisfied": None, "reason": ""})
    who, set_who = ft.use_state("")
    note, set_note = ft.use_state("")
    fulfil_photos, set_fulfil_photos = ft.use_state([])
    errors, set_errors = ft.use_state({})
    it = svc.issue(iid)
    if it is None:
        return detail_view(t("ui.issue.title"), [empty(t("ui.error.gone"))])

    def after(errs: dict[str, str], what: str) -> bool:
        set_errors({f"{what}.{k}": v for k, v in errs.items()})
        if errs:
            return False
        state.data_changed()
        # "saved" once it is (browser: once flushed to IndexedDB)
        runtime.after_durable(lambda: state.tell(t("ui.saved")),
                              lambda err: state.tell(t("phone.storage_error", error=err)))
        return True

    def send_comment(_: Any) -> None:
        if after(svc.comment(iid, comment), "comment"):
            set_comment("")

    def send_recheck(_: Any) -> None:
        after(svc.recheck(iid, verdict["solved"], verdict["satisfied"], verdict["reason"]), "recheck")

    def send_claim(_: Any) -> None:
        after(svc.claim(iid, who), "claim")

    def send_fulfil(_: Any) -> None:
        if after(svc.fulfil(iid, note, fulfil_photos), "fulfil"):
            set_fulfil_photos([])

    yes_no = [("yes", t("ui.yes")), ("no", t("ui.no"))]

    def yn(v: bool | None) -> str | None:
        return None if v is None else ("yes" if v else "no")

    def set_v(name: str) -> Any:
        return lambda v: set_verdict({**verdict, name: None if v is None else v == "yes"})

    controls = issue_head(it, t(f"ui.status.{it['status']}"))
    if it["photos"]:
        controls.append(thumbs(state, it["photos"], "issue-photo", 96))
    if it["claimed_by"]:
        controls.append(ft.Text(t("ui.issue.claimed_by", who=it["claimed_by"]), key="issue-claimed"))

    if "recheck" in it["actions"]:
        controls += [
            section(t("ui.issue.recheck")),
            label_text(t("ui.issue.solved_q")),
            choice_chips("solved", yes_no, yn(verdict["solved"]), set_v("solved"),
                         error=errors.get("recheck.solved")),
            label_text(t("ui.issue.satisfied_q")),
            choice_chips("satisfied", yes_no, yn(verdict["satisfied"]), set_v("satisfied"),
                         error=errors.get("recheck.satisfied")),
            ft.TextField(key="recheck-reason", label=t("ui.issue.why_not"), value=verdict["reason"],
                         multiline=True, error=errors.get("recheck.reason"),
                         on_change=lambda e: set_verdict({**verdict, "reason": e.control.value or ""})),
            ft.FilledButton(t("ui.issue.recheck_save"), key="recheck-save", on_click=send_recheck,
                            height=TOUCH),
        ]
    if "claim" in it["actions"]:
        controls += [
            section(t("ui.issue.claim")),
            ft.TextField(key="claim-who", label=t("ui.issue.claim_who"), value=who,
                         error=errors.get("claim.by"), on_change=lambda e: set_who(e.control.value or "")),
            ft.FilledButton(t("ui.issue.claim_save"), key="claim-save", on_click=send_claim, height=TOUCH),
        ]
    if "fulfil" in it["actions"]:
        controls += [
            section(t("ui.issue.fulfil")),
            ft.TextField(key="fulfil-note", label=t("ui.issue.fulfil_note"), value=note, multiline=True,
                         error=errors.get("fulfil.note"), on_change=lambda e: set_note(e.control.value or "")),
            PhotoStrip(fulfil_photos, set_fulfil_photos, "fulfil-photo"),
            ft.FilledButton(t("ui.issue.fulfil_save"), key="fulfil-save", on_click=send_fulfil,
                            height=TOUCH),
        ]

    controls += timeline(state, it["timeline"])
    controls += [
        ft.TextField(key="comment", label=t("ui.issue.comment"), value=comment, multiline=True,
                     error=errors.get("comment.text"), on_change=lambda e: set_comment(e.control.value or "")),
        ft.OutlinedButton(t("ui.issue.comment_send"), key="comment-send", icon=ft.Icons.SEND,
                          on_click=send_comment, height=TOUCH),
    ]
    return detail_view(t("ui.issue.detail"), controls)


def issue_head(it: dict[str, Any], status_label: str, extra_meta: tuple[ft.Control, ...] = ()) -> list[ft.Control]:
    """Title, status / urgency badges, category · household · time, description: the top of
    an issue's detail, for the field app and the staff act screen alike."""
    meta = [badge(status_label), badge(it["urgency_label"])]
    if it["appeal_label"]:
        meta.append(badge(it["appeal_label"]))
    if it["overdue"]:
        meta.append(badge(t("ui.issue.overdue"), ft.Colors.RED_200))
    meta += extra_meta
    controls: list[ft.Control] = [
        ft.Text(it["title"], size=20, weight=ft.FontWeight.BOLD, key="issue-title"),
        ft.Row(meta, wrap=True, key="issue-meta"),
        ft.Text(" · ".join(x for x in (it["category"], it["household_label"], it["at_text"]) if x),
                size=13, key="issue-sub"),
    ]
    controls += place_line(it["location_text"], "issue-location")
    if it["description"]:
        controls.append(ft.Text(it["description"], key="issue-description"))
    return controls


def timeline(state: AppState, events: list[dict[str, Any]]) -> list[ft.Control]:
    """The issue's timeline (from the workflow fold): one row per event, flags and photos under it."""
    controls: list[ft.Control] = [section(t("ui.issue.timeline"))]
    for i, ev in enumerate(events):
        sub = " · ".join(x for x in (ev["at_text"], ev["actor"], ev["detail"]) if x)
        controls.append(row_tile(f"event:{i}", f"{ev['type_label']} → {ev['state_label']}", sub,
                                 leading=ft.Icon(ft.Icons.WARNING_AMBER if ev["flagged"] else ft.Icons.CIRCLE,
                                                 size=20 if ev["flagged"] else 14,
                                                 color=ft.Colors.ERROR if ev["flagged"] else ft.Colors.PRIMARY)))
        if ev["flagged"]:
            controls.append(ft.Text(ev["flag"], color=ft.Colors.ERROR, size=12, key=f"event-flag:{i}"))
        if ev["photos"]:
            controls.append(thumbs(state, ev["photos"], f"event-photo:{i}", 56))
    return controls
