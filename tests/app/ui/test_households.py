"""住户: create, validate as you type, search by pinyin initials, tag filter, edit, drafts."""

from __future__ import annotations

from harness import Harness

from app.services import Services


def add(services: Services, head: str, address: str, **more) -> str:
    hid, errors = services.save_household({"head": head, "address": address, **more})
    assert not errors, errors
    return hid


def test_create_household_through_the_form(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.nav(1)
        await h.tap("household-add")
        assert h.route == "/households/new"
        await h.type("f:head", "王建国")
        await h.type("f:address", "东风村3组12号")
        await h.type("f:phone", "13812345678")
        await h.type("f:member_count", "3")
        await h.tap("care-tag:独居老人")
        await h.tap("member-add")
        await h.type("m0:name", "李秀英")
        await h.type("m0:relation", "配偶")
        await h.tap("save")
        assert h.route.startswith("/households/") and h.route != "/households/new"
        hid = h.route.rsplit("/", 1)[1]
        rec = services.store.get("household", hid)
        assert rec["fields"]["head"] == "王建国"
        assert rec["fields"]["member_count"] == 3
        assert rec["fields"]["care_tags"] == ["独居老人"]
        assert rec["fields"]["members"] == [{"name": "李秀英", "relation": "配偶"}]
        assert h.by_key("hh-head").value == "王建国"
        assert "已保存" in h.by_key("notice-text").value
        assert services.outbox()["by_kind"] == {"household": 1}
        # back from the detail goes to the list, which shows the new household
        await h.back()
        assert h.route == "/households"
        assert h.has_key(f"household:{hid}")

    run_app(scenario)


def test_validation_messages_appear_as_you_type(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/households/new")
        # nothing touched yet: no red text
        assert h.by_key("f:head").error is None
        await h.type("f:phone", "12345")
        assert "电话" in (h.by_key("f:phone").error or "")
        await h.type("f:phone", "13812345678")
        assert h.by_key("f:phone").error is None
        await h.type("f:head", "张")
        await h.type("f:head", "")
        assert "户主" in (h.by_key("f:head").error or "") or h.by_key("f:head").error
        # saving with the address missing says so and saves nothing
        await h.tap("save")
        assert h.route == "/households/new"
        assert h.by_key("f:address").error
        assert h.has_key("form-errors")
        assert services.store.all("household") == []

    run_app(scenario)


def test_search_by_name_phone_address_and_pinyin_initials(run_app, services):
    wang = add(services, "王建国", "东风村3组12号", phone="13812345678")
    li = add(services, "李桂兰", "东风村1组2号", care_tags=["低保户"])

    async def scenario(h: Harness) -> None:
        await h.nav(1)
        assert h.has_key(f"household:{wang}") and h.has_key(f"household:{li}")
        for query, hit, miss in [("wjg", wang, li), ("李", li, wang), ("138123", wang, li),
                                 ("1组", li, wang), ("LGL", li, wang)]:
            await h.type("household-query", query)
            assert h.has_key(f"household:{hit}"), query
            assert not h.has_key(f"household:{miss}"), query
        await h.type("household-query", "")
        await h.tap("tag:低保户")
        assert h.has_key(f"household:{li}") and not h.has_key(f"household:{wang}")
        await h.tap("tag:低保户")
        assert h.has_key(f"household:{wang}")

    run_app(scenario)


def test_edit_household(run_app, services):
    hid = add(services, "王建国", "东风村3组12号")

    async def scenario(h: Harness) -> None:
        await h.go(f"/households/{hid}")
        await h.tap("hh-edit")
        assert h.route == f"/households/{hid}/edit"
        assert h.by_key("f:head").value == "王建国"
        await h.type("f:address", "东风村3组14号")
        await h.tap("save")
        assert h.route == f"/households/{hid}"
        assert h.by_key("hh-address").value == "东风村3组14号"
        assert services.store.get("household", hid)["fields"]["address"] == "东风村3组14号"

    run_app(scenario)


def test_draft_survives_leaving_and_unsaved_form_warns(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/households/new")
        await h.type("f:head", "赵大妈")
        await h.back()
        # a dirty form asks before leaving
        assert h.route == "/households/new"
        assert "还没保存" in h.dialog_text()
        await h.tap("leave-stay")
        assert h.route == "/households/new" and h.dialog_text() == ""
        await h.tap("back")
        await h.tap("leave-keep")
        assert h.route == "/households"
        await h.nav(0)
        await h.go("/households/new")
        assert h.by_key("f:head").value == "赵大妈"
        # discarding empties it
        await h.tap("back")
        await h.tap("leave-discard")
        await h.go("/households/new")
        assert h.by_key("f:head").value == ""
        # an untouched form leaves without asking
        await h.tap("back")
        assert h.route == "/households" and h.dialog_text() == ""
        assert services.store.all("household") == []

    run_app(scenario)


def test_edit_clears_emptied_fields_and_saving_unchanged_is_fine(run_app, services):
    hid = add(services, "王建国", "东风村3组12号", phone="13812345678", care_tags=["党员户"])

    async def scenario(h: Harness) -> None:
        await h.go(f"/households/{hid}/edit")
        await h.tap("save")  # nothing changed: back to the detail, nothing queued
        assert h.route == f"/households/{hid}"
        assert services.outbox()["changes"] == 1
        await h.tap("hh-edit")
        await h.type("f:phone", "")
        await h.tap("care-tag:党员户")
        await h.tap("save")
        f = services.store.get("household", hid)["fields"]
        assert not f.get("phone") and not f.get("care_tags")
        assert f["head"] == "王建国"

    run_app(scenario)
