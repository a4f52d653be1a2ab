"""The county level on the server (issue 14): counties and the default county, county staff
whose scope is every township of their county (decided once, sync/server/authz.py), private
contact fields sent only where needed, logins apart from names, places with their parent,
reference data administered and synced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from sync.changes import new_record
from sync.server import admin, auth, authz, db, refdata
from sync.server.cli import admin_app
from sync.server.errors import ServerError
from tests.support.server import Device, Org, RunningServer, enroll_device, event, issue, make_org


@dataclass
class County:
    org: Org
    county_a: str  # the default county: 青山镇 and 绿水镇
    county_b: str  # 东山县: 白云镇
    town_b: str
    grid_d: str  # 白云镇 / 北村 / 北村一网格
    village_d: str


def _county(srv: RunningServer) -> County:
    org = make_org(srv)

    def more(conn):  # type: ignore[no-untyped-def]
        county_a = conn.execute(sa.select(db.townships.c.county).where(db.townships.c.id == org.township)).scalar_one()
        county_b = admin.create_county(conn, "东山县")
        town_b = admin.create_township(conn, "白云镇", "东山县")
        village_d = admin.create_village(conn, town_b, "北村")
        grid_d = admin.create_grid(conn, town_b, "北村一网格", village_d)
        admin.create_user(conn, "吴网格", "grid_worker", grids=[grid_d])
        admin.create_user(conn, "王芳", "county_staff", county=county_a, login="wangfang-a")
        admin.create_user(conn, "王芳", "county_staff", county="东山县", login="wangfang-b")
        return County(org, county_a, county_b, town_b, grid_d, village_d)

    return srv.run(more)


@pytest.fixture
def county(server: RunningServer) -> County:
    return _county(server)


def _applied(dev: Device, changes: list[dict]) -> list[dict]:
    r = dev.sync(changes)
    assert r.status_code == 200, r.text
    return r.json()["acks"]


def _hotline(dev: Device, grid: str, village: str, **extra: object) -> tuple[dict, dict]:
    fields = {"issue_kind": "problem", "title": "夜间施工噪音", "reporter": dev.user_id, "source": "hotline",
              "external_no": "12345-0001", "village": village, "contact_name": "王先生",
              "contact_phone": "13812345678", **extra}
    return new_record("issue", grid, fields, dev.clock, dev.user_id)


# ---- counties and townships -------------------------------------------------------------


def test_townships_without_a_county_join_the_default_one_and_a_second_county_needs_naming(server: RunningServer) -> None:
    def build(conn):  # type: ignore[no-untyped-def]
        t1 = admin.create_township(conn, "一镇")
        t2 = admin.create_township(conn, "二镇")
        counties = conn.execute(sa.select(db.counties.c.id, db.counties.c.name)).all()
        admin.create_county(conn, "西山县")
        with pytest.raises(ServerError) as exc:
            admin.create_township(conn, "三镇")
        t3 = admin.create_township(conn, "三镇", "西山县")
        town_county = dict(conn.execute(sa.select(db.townships.c.id, db.townships.c.county)).all())
        return t1, t2, t3, counties, exc.value, town_county

    t1, t2, t3, counties, err, town_county = server.run(build)
    assert [n for _, n in counties] == [admin.DEFAULT_COUNTY]
    assert town_county[t1] == town_county[t2] == admin.DEFAULT_COUNTY_ID != town_county[t3]
    assert err.code == "needs_county" and "--county" in err.message()
    # the township and county records reach devices: staff of the township pull them
    dev = enroll_device(server, server.run(admin.create_user, "甲干部", "township_staff", township=t1))
    kinds = {(r["kind"], r["fields"].get("name")) for r in dev.pull_all()}
    assert ("township", "一镇") in kinds and ("county", admin.DEFAULT_COUNTY) in kinds
    assert ("township", "三镇") not in kinds


def test_the_migration_puts_older_townships_in_a_default_county(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = db.make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(sa.text("INSERT INTO townships (id, name) VALUES ('t-old', '老镇')"))
        conn.execute(sa.text("INSERT INTO users (id, name, role, township) VALUES ('u-old', '老李', 'township_staff', 't-old')"))
    db.migrate(engine)
    with engine.begin() as conn:
        admin.prepare(conn)  # first open after the upgrade: the county and township records
        county = conn.execute(sa.text("SELECT county FROM townships WHERE id = 't-old'")).scalar_one()
        name = conn.execute(sa.select(db.counties.c.name).where(db.counties.c.id == county)).scalar_one()
        kinds = {r[0] for r in conn.execute(sa.select(db.records.c.kind))}
        user = auth.principal_for_user(conn, "u-old")
    engine.dispose()
    assert county == admin.DEFAULT_COUNTY_ID and name == admin.DEFAULT_COUNTY
    assert {"county", "township", "source", "appeal"} <= kinds
    assert user.name == "老李" and authz.scope_of(user).townships == {"t-old"}


# ---- county staff: scope from the caller, one place --------------------------------------


def test_county_staff_pull_every_township_of_their_county_and_nothing_of_another(server: RunningServer, county: County) -> None:
    org = county.org
    wa, wc, wd = (enroll_device(server, n) for n in ("张网格", "王网格", "吴网格"))
    ia, ia_ch = issue(wa, org.grid_a, "路灯坏了")
    ic, ic_ch = issue(wc, org.users["grid_c"], "水管爆裂")
    idd, id_ch = issue(wd, county.grid_d, "桥面破损")
    for dev, ch in ((wa, ia_ch), (wc, ic_ch), (wd, id_ch)):
        assert [a["status"] for a in _applied(dev, [ch])] == ["applied"]
    fang_a = enroll_device(server, "wangfang-a")
    fang_b = enroll_device(server, "wangfang-b")
    seen_a = {r["id"] for r in fang_a.pull_all()}
    seen_b = {r["id"] for r in fang_b.pull_all()}
    assert {ia["id"], ic["id"]} <= seen_a and idd["id"] not in seen_a  # both townships of 默认县
    assert idd["id"] in seen_b and not {ia["id"], ic["id"]} & seen_b
    # the same answer for a starter pack's scope and for the conflicts route
    p_a = server.run(auth.principal_for_device, fang_a.device_id)
    assert authz.scope_of(p_a).townships == {org.township, server.run(admin.resolve, "township", "绿水镇")}


def test_county_staff_act_in_their_county_and_are_refused_in_another(server: RunningServer, county: County) -> None:
    org = county.org
    wa, wd = enroll_device(server, "张网格"), enroll_device(server, "吴网格")
    ia, ia_ch = issue(wa, org.grid_a)
    idd, id_ch = issue(wd, county.grid_d)
    _applied(wa, [ia_ch])
    _applied(wd, [id_ch])
    fang_a = enroll_device(server, "wangfang-a")
    card = {"level": 2, "deadline": "2026-12-20", "card_no": "县督2026-1"}
    ok = _applied(fang_a, [event(fang_a, ia, "accept")[1], event(fang_a, ia, "county_supervise", card)[1]])
    assert [a["status"] for a in ok] == ["applied", "applied"]
    [refused] = _applied(fang_a, [event(fang_a, idd, "county_supervise", card)[1]])
    assert refused["status"] == "refused" and refused["code"] == "scope"
    # a hotline problem registered by county staff in another county's grid: refused too
    [refused] = _applied(fang_a, [_hotline(fang_a, county.grid_d, county.village_d)[1]])
    assert (refused["status"], refused["code"]) == ("refused", "scope")


def test_a_township_cannot_issue_a_county_card(server: RunningServer, county: County) -> None:
    org = county.org
    wa, staff = enroll_device(server, "张网格"), enroll_device(server, "赵干部")
    ia, ia_ch = issue(wa, org.grid_a)
    _applied(wa, [ia_ch])
    [ack] = _applied(staff, [event(staff, ia, "county_supervise", {"level": 1, "deadline": "2026-12-20"})[1]])
    assert (ack["status"], ack["code"]) == ("refused", "role")


def test_a_problem_names_a_village_of_its_own_township_only(server: RunningServer, county: County) -> None:
    org = county.org
    staff = enroll_device(server, "赵干部")
    [ack] = _applied(staff, [_hotline(staff, org.grid_a, county.village_d)[1]])  # 北村 is in 白云镇
    assert (ack["status"], ack["code"]) == ("refused", "scope")
    [ack] = _applied(staff, [_hotline(staff, org.grid_a, org.village_a)[1]])
    assert ack["status"] == "applied"


# ---- the resident's contact: only where needed --------------------------------------------


def _contact(recs: list[dict], rid: str) -> tuple[object, object, bool] | None:
    for r in recs:
        if r["id"] == rid:
            f = r["fields"]
            return f.get("contact_name"), f.get("contact_phone"), "contact_phone" in (r.get("stamps") or {})
    return None


def test_the_contact_goes_to_staff_and_the_grids_worker_never_elsewhere(server: RunningServer, county: County) -> None:
    org = county.org
    staff = enroll_device(server, "赵干部")
    named, named_ch = _hotline(staff, org.grid_a, org.village_a)
    anon, anon_ch = _hotline(staff, org.grid_a, org.village_a, reporter_visibility="anonymous",
                             external_no="12345-0002", contact_phone="13900001111")
    assert [a["status"] for a in _applied(staff, [named_ch, anon_ch])] == ["applied", "applied"]
    worker_a, worker_b = enroll_device(server, "张网格"), enroll_device(server, "李网格")
    fang = enroll_device(server, "wangfang-a")
    got_a = worker_a.pull_all()
    assert _contact(got_a, named["id"]) == ("王先生", "13812345678", True)  # for the 回头看 call
    assert _contact(got_a, anon["id"]) == (None, None, False)  # anonymous: staff only, stamps too
    assert _contact(worker_b.pull_all(), named["id"]) is None  # another grid: not the issue at all
    assert _contact(fang.pull_all(), anon["id"]) == ("王先生", "13900001111", True)
    assert _contact(staff.pull_all(), anon["id"]) == ("王先生", "13900001111", True)


def test_the_grid_worker_edits_a_redacted_issue_without_losing_the_contact(server: RunningServer, county: County) -> None:
    org = county.org
    staff = enroll_device(server, "赵干部")
    anon, ch = _hotline(staff, org.grid_a, org.village_a, reporter_visibility="anonymous")
    _applied(staff, [ch])
    worker = enroll_device(server, "张网格")
    [copy] = [r for r in worker.pull_all() if r["id"] == anon["id"]]
    assert "contact_phone" not in copy["fields"]
    [ack] = _applied(worker, [event(worker, copy, "comment", {"text": "已联系村委"})[1]])
    assert ack["status"] == "applied"
    assert _contact(staff.pull_all(), anon["id"]) == ("王先生", "13812345678", True)


# ---- people and places ---------------------------------------------------------------------


def test_two_people_of_one_name_with_their_own_logins(server: RunningServer, county: County) -> None:
    users = {u["login"]: u for u in server.run(admin.list_users)}
    assert users["wangfang-a"]["name"] == users["wangfang-b"]["name"] == "王芳"
    with pytest.raises(ServerError) as exc:
        server.run(admin.resolve, "user", "王芳")
    assert exc.value.code == "ambiguous"
    with pytest.raises(ServerError) as exc:
        server.run(admin.create_user, "王芳", "county_staff", county="东山县", login="wangfang-b")
    assert "--login" in exc.value.message()
    # the display name goes to devices, the login with it
    dev = enroll_device(server, "wangfang-b")
    me = [r for r in dev.pull_all() if r["id"] == dev.user_id][0]
    assert me["fields"]["name"] == "王芳" and me["fields"]["login"] == "wangfang-b"
    assert me["fields"]["county"] == county.county_b


def test_county_staff_need_a_county(server: RunningServer) -> None:
    with pytest.raises(ServerError) as exc:
        server.run(admin.create_user, "钱科长", "county_staff")
    assert exc.value.code == "needs_county"


def test_a_village_name_is_unique_within_its_township_and_resolved_with_it(server: RunningServer, county: County) -> None:
    org = county.org
    other_east = server.run(admin.create_village, county.town_b, "东村")  # 东村 in 白云镇 as well
    with pytest.raises(ServerError) as exc:
        server.run(admin.resolve, "village", "东村")
    assert exc.value.code == "ambiguous" and "/东村" in exc.value.message()  # says how: township/village
    assert server.run(admin.resolve, "village", "青山镇/东村") == org.village_a
    assert server.run(admin.resolve, "village", "白云镇/东村") == other_east
    assert server.run(admin.resolve, "grid", "青山镇/东村/东村一网格") == org.grid_a
    with pytest.raises(ServerError) as exc:
        server.run(admin.create_village, "青山镇", "东村")
    assert exc.value.code == "exists"
    with pytest.raises(ServerError) as exc:
        server.run(admin.resolve, "village", "青山镇/北村")
    assert exc.value.code == "unknown_village"
    vrec = [r for r in enroll_device(server, "赵干部").pull_all() if r["id"] == org.village_a][0]
    assert vrec["fields"]["township_id"] == org.township


# ---- reference data administered ------------------------------------------------------------


def test_units_categories_sources_edited_retired_and_synced_old_records_keep_their_meaning(
        server: RunningServer, county: County) -> None:
    org = county.org
    worker, staff = enroll_device(server, "张网格"), enroll_device(server, "赵干部")
    ia, ia_ch = issue(worker, org.grid_a)
    _applied(worker, [ia_ch])
    server.run(refdata.set_reference, "unit", "county-water", {"name": "县水利局", "county": "东山县", "phone": "0571-88886666"})
    _applied(staff, [event(staff, ia, "assign", {"unit": "county-water", "deadline": "2026-12-20"})[1]])
    server.run(refdata.set_reference, "unit", "county-water", {"name": "县水务局"})  # renamed: same id
    server.run(refdata.retire, "unit", "county-water")
    server.run(refdata.set_reference, "category", "env.dust", {"name": "扬尘", "parent": "env", "deadline_days": 4})
    server.run(refdata.set_reference, "source", "mayor-mail", {"name": "县长信箱", "order": 9})
    server.run(refdata.set_reference, "category", "infra", {"deadline_days": 15})
    recs = {r["id"]: r for r in worker.pull_all()}
    unit = recs["county-water"]["fields"]
    assert (unit["name"], unit["level"], unit["county"], unit["retired"]) == ("县水务局", "county", county.county_b, True)
    assert recs["env.dust"]["fields"]["deadline_days"] == 4 and recs["infra"]["fields"]["deadline_days"] == 15
    assert recs["mayor-mail"]["fields"]["name"] == "县长信箱"
    # the assign event keeps its unit id and its own deadline date
    [assign] = [r for r in recs.values() if r["kind"] == "issue_event" and r["fields"]["type"] == "assign"]
    assert assign["fields"]["data"] == {"unit": "county-water", "deadline": "2026-12-20"}
    # brought back by an edit
    server.run(refdata.set_reference, "unit", "county-water", {"order": 3})
    listed = {r["id"]: r for r in server.run(refdata.list_reference, "unit")}
    assert listed["county-water"]["retired"] is False and listed["county-water"]["order"] == 3


@pytest.mark.parametrize(("kind", "rid", "fields", "code"), [
    ("household", None, {"name": "x"}, "bad_kind"),
    ("unit", None, {"name": "x", "colour": "red"}, "bad_field"),
    ("unit", "Bad Id!", {"name": "x"}, "bad_id"),
    ("unit", None, {"order": 2}, "bad_name"),
    ("category", "c.x", {"name": "x", "parent": "nope"}, "bad_parent"),
    ("category", "c.y", {"name": "x", "deadline_days": "seven"}, "invalid"),
    ("category", "c.z", {"name": "x", "deadline_days": 0}, "invalid"),
    ("source", "infra", {"name": "x"}, "exists"),  # an id another kind holds
    ("unit", None, {"name": "x", "county": "没有这个县"}, "unknown_county"),
])
def test_reference_edits_refused_with_a_reason(server: RunningServer, kind: str, rid: str | None, fields: dict,
                                               code: str) -> None:
    with pytest.raises(ServerError) as exc:
        server.run(refdata.set_reference, kind, rid, fields)
    assert exc.value.code == code and exc.value.message()


def test_the_admin_commands_for_counties_people_and_reference_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"

    def gw(*args: str) -> object:
        return CliRunner().invoke(admin_app, ["--db", url, *args], catch_exceptions=False)

    assert gw("create-county", "青田县").exit_code == 0
    assert gw("create-township", "城关镇", "--county", "青田县").exit_code == 0
    assert gw("create-village", "东村", "--township", "城关镇").exit_code == 0
    assert gw("create-grid", "一网格", "--township", "城关镇", "--village", "城关镇/东村").exit_code == 0
    assert gw("create-user", "王芳", "--role", "county_staff", "--county", "青田县", "--login", "wf1").exit_code == 0
    assert gw("create-user", "王芳", "--role", "grid_worker", "--grid", "东村/一网格", "--login", "wf2").exit_code == 0
    users = gw("list-users")
    assert "wf1" in users.stdout and "wf2" in users.stdout
    again = gw("create-user", "王芳", "--role", "county_staff", "--county", "青田县", "--login", "wf1")
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert gw("set-ref", "unit", "--id", "qt-housing", "--name", "县住建局", "--county", "青田县").exit_code == 0
    assert gw("set-ref", "category", "--id", "infra", "--deadline-days", "12").exit_code == 0
    assert gw("retire-ref", "source", "spot_check").exit_code == 0
    listed = gw("list-ref", "source")
    assert "spot_check" in listed.stdout and "已停用" in listed.stdout
    bad = gw("set-ref", "village", "--name", "x")
    assert bad.exit_code == 1 and "unit" in bad.output
    assert "county" in gw("list-ref", "unit").stdout

