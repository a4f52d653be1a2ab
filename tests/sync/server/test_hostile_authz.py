"""Hostile battery for "who may write what" (issue 11, findings 1 and 2, the operator rule).

Each case is something an enrolled but hostile device (or operator) tried against a running
demo: it goes through the real HTTP server, and the test asserts the refusal (code and a
reason from the catalog) and that the database is exactly as before: every record document
and its feed sequence, the applied changes, the conflict log, the photo references and the
feed head.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from sqlalchemy import select, text

from sync.bundles.format import build_bundle
from sync.changes import new_record
from sync.ids import new_id
from sync.server import admin, auth, db
from tests.support.server import (
    Device,
    Org,
    RunningServer,
    edit,
    enroll_device,
    event,
    household,
    issue,
    make_org,
)


@dataclass
class World:
    srv: RunningServer
    org: Org
    dev: dict[str, Device]
    rec: dict[str, dict] = field(default_factory=dict)  # name -> record as the server has it
    photo_b: bytes = b""
    village_c: str = ""
    grid_d: str = ""  # 白云镇 of 东山县: another county
    secrets: dict[str, bytes] = field(default_factory=dict)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), tuple(os.urandom(3))).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _ok(dev: Device, changes: list[dict]) -> None:
    r = dev.sync(changes)
    assert r.status_code == 200, r.text
    acks = r.json()["acks"]
    assert [a["status"] for a in acks] == ["applied"] * len(changes), acks


def _upload(dev: Device, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    h = {**dev.headers(), "X-Chunk-Sha256": sha, "Content-Type": "application/octet-stream"}
    r = requests.put(f"{dev.api}/blobs/{sha}", params={"offset": 0, "size": len(data)}, data=data,
                     headers=h, timeout=30)
    assert r.status_code == 200 and r.json()["complete"], r.text
    return sha


def _photo(dev: Device, grid: str, data: bytes, kind: str, target: str) -> tuple[dict, dict]:
    fields = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "width": 64, "height": 48,
              "attached_to": {"kind": kind, "id": target}}
    return new_record("photo", grid, fields, dev.clock, dev.user_id)


def build_world(srv: RunningServer) -> World:
    org = make_org(srv)

    def more(conn):  # type: ignore[no-untyped-def]
        other = admin.resolve(conn, "township", "绿水镇")
        admin.create_user(conn, "孙干部", "township_staff", township=other)
        admin.create_user(conn, "周操作员", "operator", township=other)
        # the county level: 青山镇 and 绿水镇 are in the default county; 东山县 is another
        home = conn.execute(select(db.townships.c.county).where(db.townships.c.id == org.township)).scalar_one()
        admin.create_user(conn, "县干部", "county_staff", county=home)
        admin.create_county(conn, "东山县")
        town_d = admin.create_township(conn, "白云镇", "东山县")
        grid_d = admin.create_grid(conn, town_d, "北村一网格", admin.create_village(conn, town_d, "北村"))
        admin.create_user(conn, "东山干部", "county_staff", county="东山县")
        admin.create_user(conn, "吴网格", "grid_worker", grids=[grid_d])
        return admin.resolve(conn, "village", "南村"), grid_d

    village_c, grid_d = srv.run(more)
    names = {"wa": "张网格", "wb": "李网格", "wc": "王网格", "staff": "赵干部", "staff2": "孙干部",
             "op": "钱操作员", "op2": "周操作员", "county": "县干部", "county_b": "东山干部", "wd": "吴网格"}
    dev = {k: enroll_device(srv, v) for k, v in names.items()}
    w = World(srv, org, dev, village_c=village_c, grid_d=grid_d)
    wa, wb, wc, staff = dev["wa"], dev["wb"], dev["wc"], dev["staff"]
    # Grid B (西村): a resolved problem with a photo, a claimed wish.
    hb, hb_ch = household(wb, org.grid_b, org.village_b, head="李大爷")
    ib, ib_ch = new_record("issue", org.grid_b, {"issue_kind": "problem", "title": "桥栏松动", "reporter": wb.user_id,
                                                  "household": hb["id"]}, wb.clock, wb.user_id)
    wish, wish_ch = new_record("issue", org.grid_b, {"issue_kind": "wish", "title": "想要轮椅", "reporter": wb.user_id},
                               wb.clock, wb.user_id)
    w.photo_b = _jpeg()
    pb, pb_ch = _photo(wb, org.grid_b, w.photo_b, "issue", ib["id"])
    _ok(wb, [hb_ch, ib_ch, event(wb, ib, "report")[1], wish_ch, event(wb, wish, "report")[1],
             event(wb, wish, "claim", {"by": "村两委"})[1], pb_ch])
    _upload(wb, w.photo_b)
    _ok(staff, [event(staff, ib, "accept")[1],
                event(staff, ib, "assign", {"unit": "town-power", "deadline": "2026-12-31"})[1],
                event(staff, ib, "resolve", {"reply": "已加固"})[1]])
    # Grid A (东村): the attacker's own grid.
    ha, ha_ch = household(wa, org.grid_a, org.village_a, head="张大娘")
    ia, ia_ch = new_record("issue", org.grid_a, {"issue_kind": "problem", "title": "路灯坏了", "reporter": wa.user_id,
                                                  "household": ha["id"]}, wa.clock, wa.user_id)
    va, va_ch = new_record("visit", org.grid_a, {"household": ha["id"], "visitor": wa.user_id,
                                                  "time": "2026-11-30T10:00:00", "kind": "routine"},
                           wa.clock, wa.user_id)
    _ok(wa, [ha_ch, ia_ch, event(wa, ia, "report")[1], va_ch])
    # Grid C, township 绿水镇.
    hc, hc_ch = household(wc, org.users["grid_c"], village_c, head="王奶奶")
    ic, ic_ch = issue(wc, org.users["grid_c"], "水管爆裂")
    _ok(wc, [hc_ch, ic_ch, event(wc, ic, "report")[1]])
    # Grid D, 白云镇 of 东山县.
    idd, id_ch = issue(dev["wd"], grid_d, "桥面破损")
    _ok(dev["wd"], [id_ch])
    w.rec = {"hb": hb, "ib": ib, "wish": wish, "pb": pb, "ha": ha, "ia": ia, "va": va, "hc": hc, "ic": ic,
             "id": idd}
    return w


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("hostile")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'server.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_cluster").new_database()
    srv = RunningServer(url, tmp / "blobs")
    try:
        yield build_world(srv)
    finally:
        srv.stop()


def snapshot(srv: RunningServer) -> dict[str, Any]:
    """Everything a write could change, as plain data."""
    with srv.engine.connect() as conn:
        def rows(sql: str) -> list[tuple]:
            return [tuple(r) for r in conn.execute(text(sql)).all()]

        return {
            "records": rows("SELECT id, seq, doc FROM records ORDER BY id"),
            "applied": rows("SELECT change_id, record_id FROM applied_changes ORDER BY change_id"),
            "conflicts": rows("SELECT record_id, field, lost_stamp FROM conflicts ORDER BY id"),
            "blob_refs": rows("SELECT sha256, record_id, grid FROM blob_refs ORDER BY sha256, record_id"),
            "feed": rows("SELECT seq FROM feed"),
        }


# ---- the cases: (device, changes, expected refusal code) ---------------------------------

Case = Callable[[World], tuple[Device, list[dict], str]]


def _forge(change: dict, **top: Any) -> dict:
    return {**change, **top}


def _forge_fields(change: dict, **fields: Any) -> dict:
    return {**change, "fields": {**change["fields"], **fields}}


def _raw_edit(dev: Device, rec: dict, **fields: Any) -> dict:
    """An edit built by hand: what the model's edit_change would refuse to build."""
    return {"change_id": new_id(), "id": rec["id"], "kind": rec["kind"], "grid": rec["grid"], "fields": fields,
            "stamps": {f: dev.clock.now() for f in fields}, "bases": {f: rec["stamps"].get(f) for f in fields},
            "actor": dev.user_id, "node": dev.device_id}


def _event_in(dev: Device, issue_rec: dict, grid: str, etype: str, data: dict | None = None) -> dict:
    """An event for ``issue_rec`` that claims to belong to ``grid`` (finding 1's trick)."""
    return _forge(event(dev, issue_rec, etype, data)[1], grid=grid)


CROSS_TARGET: dict[str, Case] = {
    # Finding 1: events pointing at another grid's issue while the event says "my grid".
    "recheck_other_grid_issue": lambda w: (w.dev["wa"], [_event_in(
        w.dev["wa"], w.rec["ib"], w.org.grid_a, "recheck", {"solved": False, "satisfied": False})], "scope"),
    "fulfil_other_grid_wish": lambda w: (w.dev["wa"], [_event_in(
        w.dev["wa"], w.rec["wish"], w.org.grid_a, "fulfil", {"note": "done"})], "scope"),
    "feedback_other_grid_wish": lambda w: (w.dev["wa"], [_event_in(
        w.dev["wa"], w.rec["wish"], w.org.grid_a, "feedback", {"text": "好", "satisfied": True})], "scope"),
    "comment_other_grid_issue": lambda w: (w.dev["wa"], [_event_in(
        w.dev["wa"], w.rec["ib"], w.org.grid_a, "comment", {"text": "看看"})], "scope"),
    "claim_other_township_issue": lambda w: (w.dev["wa"], [_event_in(
        w.dev["wa"], w.rec["ic"], w.org.grid_a, "claim", {"by": "我"})], "scope"),
    "event_in_other_grid_outright": lambda w: (w.dev["wa"], [event(
        w.dev["wa"], w.rec["ib"], "comment", {"text": "x"})[1]], "scope"),
    "staff_event_other_township_issue": lambda w: (w.dev["staff"], [_event_in(
        w.dev["staff"], w.rec["ic"], w.org.grid_a, "accept")], "scope"),
    "staff_event_other_township_grid": lambda w: (w.dev["staff"], [event(
        w.dev["staff"], w.rec["ic"], "close", {"outcome": "x"})[1]], "scope"),
    "staff2_reopens_township1_issue": lambda w: (w.dev["staff2"], [_event_in(
        w.dev["staff2"], w.rec["ib"], w.org.users["grid_c"], "reopen")], "scope"),
    "event_for_household_as_issue": lambda w: (w.dev["wa"], [_forge_fields(
        event(w.dev["wa"], w.rec["ia"], "comment", {"text": "x"})[1], issue=w.rec["ha"]["id"])], "invalid"),
    # Visits and issues naming another grid's household or issues.
    "visit_other_grid_household": lambda w: (w.dev["wa"], [new_record("visit", w.org.grid_a, {
        "household": w.rec["hb"]["id"], "visitor": w.dev["wa"].user_id, "time": "2026-11-30T09:00:00",
        "kind": "care"}, w.dev["wa"].clock, w.dev["wa"].user_id)[1]], "scope"),
    "visit_other_township_household": lambda w: (w.dev["wa"], [new_record("visit", w.org.grid_a, {
        "household": w.rec["hc"]["id"], "visitor": w.dev["wa"].user_id, "time": "2026-11-30T09:00:00",
        "kind": "care"}, w.dev["wa"].clock, w.dev["wa"].user_id)[1]], "scope"),
    "visit_demands_other_grid_issue": lambda w: (w.dev["wa"], [new_record("visit", w.org.grid_a, {
        "household": w.rec["ha"]["id"], "visitor": w.dev["wa"].user_id, "time": "2026-11-30T09:00:00",
        "kind": "routine", "demands": [w.rec["ib"]["id"]]}, w.dev["wa"].clock, w.dev["wa"].user_id)[1]], "scope"),
    "issue_other_grid_household": lambda w: (w.dev["wa"], [new_record("issue", w.org.grid_a, {
        "issue_kind": "problem", "title": "偷看", "reporter": w.dev["wa"].user_id, "household": w.rec["hb"]["id"]},
        w.dev["wa"].clock, w.dev["wa"].user_id)[1]], "scope"),
    "edit_own_issue_to_other_household": lambda w: (w.dev["wa"], [edit(
        w.dev["wa"], w.rec["ia"], household=w.rec["hb"]["id"])], "scope"),
    "edit_own_visit_demands_other_issue": lambda w: (w.dev["wa"], [edit(
        w.dev["wa"], w.rec["va"], demands=[w.rec["ib"]["id"]])], "scope"),
    "household_in_other_township_village": lambda w: (w.dev["wa"], [household(
        w.dev["wa"], w.org.grid_a, w.village_c)[1]], "scope"),
    "household_unknown_village": lambda w: (w.dev["wa"], [household(
        w.dev["wa"], w.org.grid_a, "no-such-village")[1]], "scope"),
    # Photos: attached to another grid's record, or naming another grid's blob hash.
    "photo_attached_to_other_grid_issue": lambda w: (w.dev["wa"], [_photo(
        w.dev["wa"], w.org.grid_a, _jpeg(), "issue", w.rec["ib"]["id"])[1]], "scope"),
    "photo_attached_kind_lies": lambda w: (w.dev["wa"], [_photo(
        w.dev["wa"], w.org.grid_a, _jpeg(), "household", w.rec["ia"]["id"])[1]], "invalid"),
    "photo_names_other_grid_blob": lambda w: (w.dev["wa"], [_photo(
        w.dev["wa"], w.org.grid_a, w.photo_b, "issue", w.rec["ia"]["id"])[1]], "scope"),
    "issue_photos_name_other_grid_blob": lambda w: (w.dev["wa"], [edit(
        w.dev["wa"], w.rec["ia"], photos=[hashlib.sha256(w.photo_b).hexdigest()])], "scope"),
    "staff2_photo_names_township1_blob": lambda w: (w.dev["staff2"], [_photo(
        w.dev["staff2"], w.org.users["grid_c"], w.photo_b, "issue", w.rec["ic"]["id"])[1]], "scope"),
}

AUTHORSHIP: dict[str, Case] = {
    # Finding 2: author fields that name somebody else.
    "comment_as_staff": lambda w: (w.dev["wa"], [_forge_fields(
        event(w.dev["wa"], w.rec["ia"], "comment", {"text": "同意"})[1], actor=w.dev["staff"].user_id)], "actor"),
    "accept_as_staff_role_and_actor": lambda w: (w.dev["wa"], [_forge_fields(
        event(w.dev["wa"], w.rec["ia"], "accept")[1], actor=w.dev["staff"].user_id, role="township_staff")],
        "actor"),
    "staff_comment_as_worker": lambda w: (w.dev["staff"], [_forge_fields(
        event(w.dev["staff"], w.rec["ia"], "comment", {"text": "x"})[1], actor=w.dev["wa"].user_id)], "actor"),
    "operator_comment_as_staff": lambda w: (w.dev["op"], [_forge_fields(
        event(w.dev["op"], w.rec["ia"], "comment", {"text": "x"})[1], actor=w.dev["staff"].user_id)], "actor"),
    "issue_reported_by_someone_else": lambda w: (w.dev["wa"], [new_record("issue", w.org.grid_a, {
        "issue_kind": "problem", "title": "冒名", "reporter": w.dev["wb"].user_id},
        w.dev["wa"].clock, w.dev["wa"].user_id)[1]], "actor"),
    "visit_by_someone_else": lambda w: (w.dev["wa"], [new_record("visit", w.org.grid_a, {
        "household": w.rec["ha"]["id"], "visitor": w.dev["staff"].user_id, "time": "2026-11-30T09:00:00",
        "kind": "routine"}, w.dev["wa"].clock, w.dev["wa"].user_id)[1]], "actor"),
    "change_envelope_actor_is_staff": lambda w: (w.dev["wa"], [_forge(
        issue(w.dev["wa"], w.org.grid_a)[1], actor=w.dev["staff"].user_id)], "actor"),
    "worker_emits_staff_event_as_self": lambda w: (w.dev["wa"], [event(
        w.dev["wa"], w.rec["ia"], "close", {"outcome": "x"})[1]], "role"),
    "worker_event_claims_staff_role": lambda w: (w.dev["wa"], [_forge_fields(
        event(w.dev["wa"], w.rec["ia"], "accept")[1], role="township_staff")], "role"),
    "staff_rewrites_reporter": lambda w: (w.dev["staff"], [_raw_edit(
        w.dev["staff"], w.rec["ia"], reporter=w.dev["staff"].user_id)], "invalid"),
    # Creates without their required fields.
    "create_with_invented_bases": lambda w: (w.dev["wa"], [_forge(
        edit(w.dev["wa"], {**w.rec["ia"], "id": new_id()}, title="改"))], "not_yet"),
    "create_without_title": lambda w: (w.dev["wa"], [{**issue(w.dev["wa"], w.org.grid_a)[1], "fields": {
        "issue_kind": "problem", "reporter": w.dev["wa"].user_id}, "stamps": {
        "issue_kind": w.dev["wa"].clock.now(), "reporter": w.dev["wa"].clock.now()}, "bases": {}}], "invalid"),
    "create_without_reporter": lambda w: (w.dev["wa"], [{**issue(w.dev["wa"], w.org.grid_a)[1], "fields": {
        "issue_kind": "problem", "title": "x"}, "stamps": {
        "issue_kind": w.dev["wa"].clock.now(), "title": w.dev["wa"].clock.now()}, "bases": {}}], "invalid"),
    "event_for_issue_server_lacks": lambda w: (w.dev["wa"], [event(
        w.dev["wa"], {**w.rec["ia"], "id": new_id()}, "comment", {"text": "x"})[1]], "not_yet"),
}

def _hotline(dev: Device, grid: str, village: str | None = None) -> dict:
    """A problem staff register from the 12345 hotline, with the resident's contact."""
    fields = {"issue_kind": "problem", "title": "噪音扰民", "reporter": dev.user_id, "source": "hotline",
              "contact_name": "王先生", "contact_phone": "13812345678"}
    return new_record("issue", grid, {**fields, **({"village": village} if village else {})}, dev.clock,
                      dev.user_id)[1]


_CARD = {"level": 2, "deadline": "2026-12-20", "card_no": "县督1号"}
# The county level (issue 14): scope stops at the county; 县级督办 is the county's.
COUNTY: dict[str, Case] = {
    "county_staff_acts_in_other_county": lambda w: (w.dev["county_b"], [event(
        w.dev["county_b"], w.rec["ia"], "accept")[1]], "scope"),
    "county_staff_registers_problem_in_other_county": lambda w: (w.dev["county_b"], [_hotline(
        w.dev["county_b"], w.org.grid_a)], "scope"),
    "county_card_for_other_county_issue_in_own_grid": lambda w: (w.dev["county"], [_event_in(
        w.dev["county"], w.rec["id"], w.org.grid_a, "county_supervise", _CARD)], "scope"),
    "township_staff_issues_county_card": lambda w: (w.dev["staff"], [event(
        w.dev["staff"], w.rec["ia"], "county_supervise", _CARD)[1]], "role"),
    "grid_worker_issues_county_card": lambda w: (w.dev["wa"], [event(
        w.dev["wa"], w.rec["ia"], "county_supervise", _CARD)[1]], "role"),
    "grid_worker_transfers_a_problem": lambda w: (w.dev["wa"], [event(
        w.dev["wa"], w.rec["ia"], "transfer", {"unit": "town-water", "deadline": "2026-12-20", "reason": "x"})[1]],
        "role"),
    "county_staff_claims_township_role": lambda w: (w.dev["county"], [_forge_fields(event(
        w.dev["county"], w.rec["ia"], "accept")[1], role="township_staff")], "role"),
    "staff_problem_names_other_township_village": lambda w: (w.dev["staff"], [_hotline(
        w.dev["staff"], w.org.grid_a, w.village_c)], "scope"),
    "county_staff_writes_a_unit": lambda w: (w.dev["county"], [new_record(
        "unit", w.org.grid_a, {"name": "假单位"}, w.dev["county"].clock, w.dev["county"].user_id)[1]], "role"),
}

ALL_CASES = {**CROSS_TARGET, **AUTHORSHIP, **COUNTY}


@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_hostile_change_refused_and_nothing_changes(world: World, case: str) -> None:
    dev, changes, code = ALL_CASES[case](world)
    before = snapshot(world.srv)
    r = dev.sync(changes, cursor="0", pull_limit=1)
    assert r.status_code == 200, r.text
    acks = r.json()["acks"]
    assert len(acks) == len(changes)
    for ack in acks:
        assert ack["status"] == "refused", (case, ack)
        assert ack["code"] == code, (case, ack)
        assert ack["reason"] and "server.refused" not in ack["reason"], ack  # a catalog text
        assert ack.get("retry") is (True if code == "not_yet" else None), ack
    assert snapshot(world.srv) == before


def test_author_refusal_names_the_person(world: World) -> None:
    wa = world.dev["wa"]
    ch = _forge_fields(event(wa, world.rec["ia"], "comment", {"text": "x"})[1], actor=world.dev["staff"].user_id)
    assert "赵干部" in wa.sync([ch]).json()["acks"][0]["reason"]


def test_other_grid_blob_stays_unreadable(world: World) -> None:
    """The photo hash of grid B, named in grid A's photo record, is still not served to A."""
    sha = hashlib.sha256(world.photo_b).hexdigest()
    wa, wb = world.dev["wa"], world.dev["wb"]
    assert wa.sync([_photo(wa, world.org.grid_a, world.photo_b, "issue", world.rec["ia"]["id"])[1]]).json()[
        "acks"][0]["code"] == "scope"
    assert requests.get(f"{wa.api}/blobs/{sha}", headers=wa.headers(), timeout=30).status_code == 404
    assert requests.get(f"{wb.api}/blobs/{sha}", headers=wb.headers(), timeout=30).content == world.photo_b


def test_refusal_reason_in_the_device_language(world: World) -> None:
    wa = world.dev["wa"]
    ch = _event_in(wa, world.rec["ib"], world.org.grid_a, "comment", {"text": "x"})
    zh = wa.sync([ch]).json()["acks"][0]["reason"]
    en = wa.session.post(f"{wa.api}/sync", json={"changes": [ch]}, timeout=30,
                         headers={**wa.headers(), "Accept-Language": "en"}).json()["acks"][0]["reason"]
    assert "不在本网格" in zh and "is not in this grid" in en


# ---- bundles carried in by operators -------------------------------------------------------


def _device_bundle(w: World, who: str, changes: list[dict]) -> bytes:
    dev = w.dev[who]
    secret = w.srv.run(auth.device_secret, dev.device_id)
    return build_bundle(kind="device", device_id=dev.device_id, user=dev.user_id, secret=secret,
                        changes=changes, extra={"cursor": "0"})


def _upload_bundle(w: World, operator: str, data: bytes) -> requests.Response:
    """Upload then import; the first refusal (the upload itself, for a caller who may not
    carry bundles) is the answer."""
    op = w.dev[operator]
    sha = hashlib.sha256(data).hexdigest()
    h = {**op.headers(), "X-Chunk-Sha256": sha, "Content-Type": "application/octet-stream"}
    r = requests.put(f"{op.api}/blobs/{sha}", params={"offset": 0, "size": len(data)}, data=data,
                     headers=h, timeout=30)
    if r.status_code != 200:
        return r
    assert r.json()["complete"], r.text
    return requests.post(f"{op.api}/bundles", json={"sha256": sha, "name": "x.gwb"}, headers=op.headers(), timeout=60)


BUNDLES: dict[str, Callable[[World], tuple[str, str, list[dict], str]]] = {
    # (operator, device owner, changes, expected: bundle error code or per-change refusal code)
    "operator_uploads_other_township_device": lambda w: ("op", "wc", [issue(w.dev["wc"], w.org.users["grid_c"])[1]],
                                                         "foreign_device"),
    "operator_uploads_other_township_staff": lambda w: ("op", "staff2", [], "foreign_device"),
    "operator2_uploads_township1_device": lambda w: ("op2", "wa", [issue(w.dev["wa"], w.org.grid_a)[1]],
                                                     "foreign_device"),
    "grid_worker_uploads_a_bundle": lambda w: ("wa", "wa", [issue(w.dev["wa"], w.org.grid_a)[1]], "forbidden"),
    "staff_uploads_a_bundle": lambda w: ("staff", "wa", [issue(w.dev["wa"], w.org.grid_a)[1]], "forbidden"),
    # a county's staff device spans townships: a township's operator may not carry it
    "operator_uploads_county_staff_device": lambda w: ("op", "county", [event(
        w.dev["county"], w.rec["ia"], "accept")[1]], "foreign_device"),
    "bundle_with_cross_grid_event": lambda w: ("op", "wa", [_event_in(
        w.dev["wa"], w.rec["ib"], w.org.grid_a, "recheck", {"solved": False, "satisfied": False})], "scope"),
    "bundle_with_forged_author": lambda w: ("op", "wa", [_forge_fields(
        event(w.dev["wa"], w.rec["ia"], "comment", {"text": "x"})[1], actor=w.dev["staff"].user_id)], "actor"),
}


@pytest.mark.parametrize("case", sorted(BUNDLES))
def test_hostile_bundle_refused_and_nothing_changes(world: World, case: str) -> None:
    operator, owner, changes, code = BUNDLES[case](world)
    data = _device_bundle(world, owner, changes)
    before = snapshot(world.srv)
    r = _upload_bundle(world, operator, data)
    after = snapshot(world.srv)
    assert after == before
    if code == "forbidden":
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
        return
    assert r.status_code == 200, r.text
    body = r.json()
    receipt = body["receipt"]
    if code == "foreign_device":
        assert receipt["status"] == "invalid" and receipt["code"] == "foreign_device", receipt
        assert body["return_bundle"] is None  # nothing of the other township goes back
        assert world.dev[owner].device_id in receipt["message"]
        return
    assert receipt["accepted"] == 0 and [x["code"] for x in receipt["refused"]] == [code], receipt


def test_operator_return_bundle_carries_only_own_township(world: World) -> None:
    """The legitimate case next to the refused one: an operator imports a bundle of a device of
    their township, and its return bundle holds that device's scope only."""
    from sync.bundles.format import read_bundle

    wa = world.dev["wa"]
    r = _upload_bundle(world, "op", _device_bundle(world, "wa", [issue(wa, world.org.grid_a, "合法")[1]]))
    body = r.json()
    assert body["receipt"]["status"] == "ok", body
    secret = world.srv.run(auth.device_secret, wa.device_id)
    ret = read_bundle(base64.b64decode(body["return_bundle"]), lambda d: secret, expect_kind="return")
    grids = {rec["grid"] for rec in ret.records if rec.get("grid")}
    assert grids == {world.org.grid_a}


def test_battery_size() -> None:
    """docs/security.md reports this count: keep them in step."""
    n = len(ALL_CASES) + len(BUNDLES) + 1  # + the unreadable blob
    doc = (Path(__file__).resolve().parents[3] / "docs" / "security.md").read_text(encoding="utf-8")
    assert n >= 30
    assert f"{n} hostile cases" in doc, n

