"""Voice notes in chromium (Flet 1.0.5 web mode, no internet). Staff: the note is listed on
the issue page with its length, and 播放语音 1 makes the browser play the stored bytes (the
page's media element's play() is watched: it must resolve, i.e. the browser took the audio and
started it). Field app in a PC's browser view, with chromium's fake microphone: 录音 records,
停止录音 stops, the PCM stream reaches the app's upload folder and is kept as WAV; 选录音文件
uploads a picked file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import ARGS, CHROMIUM, AppServer, Phone

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}

WATCH_PLAY = """
window.__plays = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  const rec = {src: String(this.currentSrc || this.src).slice(0, 40), ok: null};
  window.__plays.push(rec);
  const p = play.call(this);
  p.then(() => { rec.ok = true; rec.duration = this.duration; }, (e) => { rec.ok = String(e); });
  return p;
};
"""


@pytest.fixture(scope="module")
def mic_browser(browser):
    """chromium with a fake microphone (a beep) that needs no permission prompt, launched by
    the session's Playwright (a second Playwright cannot run beside it)."""
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        *ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    yield b
    b.close()


def _seed(data: Path) -> dict[str, str]:
    import random

    from app.demo_seed import _voice
    from app.services import Services
    from sync import voice
    from sync import workflow as wf
    from sync.changes import new_record
    from sync.clock import HybridClock

    clock = HybridClock("seed")
    svc = Services.open(data)
    try:
        svc.store.meta_set("profile", {**svc.profile, "role": "township_staff", "user_name": "李干事"})
        village, _ = new_record("village", "township", {"name": "东风村"}, clock, "server")
        grid, _ = new_record("grid", "township", {"name": "东风一组", "village": village["id"]}, clock, "server")
        issue, _ = new_record("issue", grid["id"], {
            "issue_kind": "problem", "title": "村口路灯不亮", "category": "infra.lighting", "reporter": "w1",
            "urgency": "normal", "reporter_visibility": "named"}, clock, "w1")
        report, _ = wf.new_event(issue, "report", {}, clock, "w1", "grid_worker")
        note = voice.check_voice(_voice(random.Random(1)))
        rec, _ = new_record("voice", grid["id"], {
            "sha256": note.sha256, "size": note.size, "media_type": note.media_type,
            "duration_ms": note.duration_ms, "attached_to": {"kind": "issue", "id": issue["id"]}}, clock, "w1")
        svc.store.apply_remote([village, grid, issue, report, rec], None)
        svc.store.put_photo(note.sha256, note.data)  # the bytes arrive as a sync brings them
        return {"issue": issue["id"], "sha": note.sha256}
    finally:
        svc.close()


def test_staff_hear_a_voice_note_on_the_issue_page(browser, assets, tmp_path):
    data = tmp_path / "data"
    _seed(data)
    server = AppServer(data, assets).start()
    try:
        phone = Phone(browser)
        page = phone.page
        page.add_init_script(WATCH_PLAY)
        phone.open(server.url, viewport=DESK, ready=("heading", "工单台"))
        phone.tap("button", "村口路灯不亮")
        page.get_by_role("heading", name="办理工单").wait_for(timeout=30_000)
        phone.wait_for("button", "播放语音 1")
        assert page.get_by_text("语音 1 · 0:04 · 63 KB").count() == 1
        phone.shot("staff-voice-note", expect=(("button", "播放语音 1"),))
        phone.tap("button", "播放语音 1")
        page.wait_for_function("window.__plays.length > 0 && window.__plays[0].ok !== null", timeout=30_000)
        plays = page.evaluate("window.__plays")
        assert plays[0]["ok"] is True, plays
        assert abs(plays[0]["duration"] - 4.0) < 0.1, plays  # the browser decoded our 4 s WAV
        phone.close()
    finally:
        server.stop()


def test_a_voice_note_recorded_and_picked_in_the_browser_view(mic_browser, assets, tmp_path):
    from app.services import Services
    from tests.support import voice_samples

    data = tmp_path / "data"
    svc = Services.open(data)
    svc.save_household({"head": "王建国", "address": "东风村3组12号"})
    svc.close()
    picked = tmp_path / "note.wav"
    picked.write_bytes(voice_samples.wav(3))
    server = AppServer(data, assets).start()
    try:
        phone = Phone(mic_browser)
        page = phone.page
        phone.ctx.grant_permissions(["microphone"], origin=server.url.rstrip("/"))
        phone.open(server.url)
        phone.tap("tab", "走访")
        phone.tap("button", "记走访")
        page.get_by_role("textbox", name="走访住户 *").wait_for()
        phone.type_into("走访住户 *", "wjg")
        phone.tap("button", "王建国")
        phone.tap("button", "录音（最长 60 秒）")
        phone.wait_for("button", "停止录音 0:02")
        phone.tap("button", "停止录音")
        phone.wait_for("button", "删除语音 1")
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="选录音文件").click()
        chooser.value.set_files(str(picked))
        phone.wait_for("button", "删除语音 2")
        phone.shot("visit-form-voice", expect=(("button", "删除语音 1"), ("button", "删除语音 2")))
        phone.tap("button", "保存走访")
        page.get_by_role("heading", name="走访详情").wait_for(timeout=30_000)
        phone.wait_for("button", "播放语音 2")
        phone.close()
    finally:
        server.stop()
    svc = Services.open(data)
    try:
        notes = sorted(svc.store.all("voice"), key=lambda r: r["fields"]["duration_ms"])
        assert [n["fields"]["media_type"] for n in notes] == ["audio/wav", "audio/wav"]
        recorded = notes[0]["fields"] if notes[0]["fields"]["size"] != picked.stat().st_size else notes[1]["fields"]
        assert recorded["duration_ms"] >= 2000  # the fake microphone's stream, as 8 kHz WAV
        assert svc.store.voice_bytes(recorded["sha256"])[:4] == b"RIFF"
    finally:
        svc.close()
