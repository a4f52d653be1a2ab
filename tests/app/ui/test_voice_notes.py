"""Voice notes in the harness: recorded on a visit (the fake client plays the phone's
recorder), a picked file over the cap refused with its one-line message, the note kept by
sha256 and queued for upload, listed with its length on the visit and on the staff issue
page, played there; no microphone permission says what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flet_audio as fa
from harness import Harness
from test_staff_screens import run_staff
from test_visits import add_household
from ui_photos import picker_answer

from tests.support import voice_samples as vs


def fake_recorder(h: Harness, data: bytes, *, permitted: bool = True) -> dict[str, Any]:
    """The phone's recorder as the client answers it: writes ``data`` where it was told."""
    seen: dict[str, Any] = {}

    def start(args: dict[str, Any]) -> bool:
        seen["start"] = args
        Path(args["output_path"]).write_bytes(data)
        return True

    h.conn.answers["has_permission"] = lambda _a: permitted
    h.conn.answers["start_recording"] = start
    h.conn.answers["stop_recording"] = lambda _a: seen["start"]["output_path"]
    return seen


def test_voice_note_on_a_visit_reaches_the_staff_issue_page(run_app, device, services, tmp_path):
    hid = add_household(services)
    note = vs.ogg_opus(42)
    too_long = tmp_path / "long.m4a"
    too_long.write_bytes(vs.m4a(95))
    ids: dict[str, str] = {}

    async def field(h: Harness) -> None:
        seen = fake_recorder(h, note)
        h.conn.answers["pick_files"] = picker_answer([too_long])
        await h.go("/visits/new")
        await h.type("household-search", "wjg")
        await h.tap(f"pick-household:{hid}")
        await h.tap("demand-add")
        await h.type("d0:title", "老人想反映低保问题")
        await h.tap("visit-voice-record")
        assert "停止录音" in h.by_key("visit-voice-record").content
        await h.tap("visit-voice-record")
        # the recorder was asked for a small mono AAC file in the store's folder
        cfg = seen["start"]["configuration"]
        assert (cfg["encoder"], cfg["channels"], cfg["bit_rate"]) == ("aacLc", 1, 24000)
        assert Path(seen["start"]["output_path"]).parent == services.store.data_dir
        assert "0:42" in h.by_key("visit-voice-note:0").value
        assert not Path(seen["start"]["output_path"]).exists()  # kept by sha256 from here on
        await h.tap("visit-voice-pick")
        [problem] = [c.value for c in h.all(where=lambda c: getattr(c, "key", None) == "visit-voice-problem")]
        assert problem.startswith("long.m4a: 录音太长（95 秒，上限 60 秒）")
        assert not h.has_key("visit-voice-note:1")
        await h.tap("save")
        vid = h.route.rsplit("/", 1)[1]
        ids["visit"] = vid
        ids["issue"] = services.store.get("visit", vid)["fields"]["demands"][0]
        [rec] = services.store.all("voice")
        f = rec["fields"]
        assert f["attached_to"] == {"kind": "visit", "id": vid}
        assert (f["media_type"], f["duration_ms"], f["size"]) == ("audio/ogg", 42_000, len(note))
        assert services.store.voice_bytes(f["sha256"]) == note
        assert f["sha256"] in services.store.photos_to_upload()  # travels like a photo
        assert "0:42" in h.by_key("visit-voice:0").value  # the visit's page lists it
        await h.go("/sync")  # the outbox tells voice notes from photos
        assert h.by_key("sync-voices").value.startswith("语音文件 1 条等待上传")
        assert h.by_key("sync-photos").value.startswith("照片文件 0 张")
        assert h.has_key("sync-kind:voice")

    run_app(field)

    async def staff(h: Harness) -> None:
        assert "0:42" in h.by_key("visit-voice:0").value
        await h.tap("visit-voice-play:0")
        await h.settle()
        [player] = [s for s in h.page._services._services if isinstance(s, fa.Audio)]
        assert player.autoplay and player.src == note  # the stored bytes, started by the client

    run_staff(device, staff, route=f"/board/{ids['issue']}")


def test_without_microphone_permission_the_form_says_what_to_do(run_app, services):
    async def scenario(h: Harness) -> None:
        fake_recorder(h, b"", permitted=False)
        await h.go("/issues/new")
        await h.tap("issue-voice-record")
        [problem] = [c.value for c in h.all(where=lambda c: getattr(c, "key", None) == "issue-voice-problem")]
        assert problem.startswith("没有麦克风权限")
        assert "start_recording" not in [name for name, _ in h.conn.calls]

    run_app(scenario)


def test_a_recording_over_the_cap_is_refused(run_app, services):
    async def scenario(h: Harness) -> None:
        fake_recorder(h, vs.webm(70))
        await h.go("/issues/new")
        await h.tap("issue-voice-record")
        await h.tap("issue-voice-record")
        [problem] = [c.value for c in h.all(where=lambda c: getattr(c, "key", None) == "issue-voice-problem")]
        assert problem.startswith("录音太长（70 秒，上限 60 秒）")
        assert not h.has_key("issue-voice-note:0")

    run_app(scenario)


def test_a_recorded_note_stays_in_the_forms_draft(run_app, services):
    async def scenario(h: Harness) -> None:
        fake_recorder(h, vs.ogg_opus(12))
        await h.go("/visits/new")
        await h.tap("visit-voice-record")
        await h.tap("visit-voice-record")
        assert "0:12" in h.by_key("visit-voice-note:0").value
        await h.tap("back")
        await h.tap("leave-keep")  # the guard asks: the note makes the form dirty
        await h.nav(0)
        await h.tap("home-new-visit")
        assert "0:12" in h.by_key("visit-voice-note:0").value
        await h.tap("visit-voice-remove:0")
        assert not h.has_key("visit-voice-note:0")
        assert services.store.all("voice") == []  # nothing attached before a save

    run_app(scenario)
