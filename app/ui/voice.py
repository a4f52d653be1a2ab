"""Voice notes on the screens: record one (the phone's microphone through Flet's
AudioRecorder) or pick an audio file, and list / play the notes of a record (Flet's Audio).

How a recording reaches Python depends on where the app runs (docs/app.md, "Voice notes"):
- phone app / desktop: the recorder writes AAC (m4a) at a small bitrate to a file in the
  device store's folder; Python reads it;
- a PC serving the browser view: the browser's recording lives in the browser, so the
  recorder streams 8 kHz 16-bit PCM to the app's upload folder and Python wraps it as WAV
  (60 s is 960 KB, inside the cap);
- inside the phone's browser (Pyodide): the recorder gives a blob URL in the same browser;
  Python fetches it (Opus in WebM). Not run here on a real phone (docs/phone.md).
Every recording and picked file goes through ``services.add_voice`` (sync.voice checks).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import flet as ft
import flet_audio as fa
import flet_audio_recorder as far

from app import runtime
from app.services import ServiceError
from app.services.voice import VoiceRef
from app.ui.forms import new_picker, picked_bytes, read_bytes
from app.ui.state import use_app
from app.ui.widgets import TAP, TOUCH, section
from sync import voice as voice_mod
from sync.i18n import t

PCM_RATE = 8000  # the PC browser view's stream: 16 KB/s, so 60 s stays under the 1 MiB cap


def _config(encoder: far.AudioEncoder, rate: int) -> far.AudioRecorderConfiguration:
    return far.AudioRecorderConfiguration(encoder=encoder, channels=1, sample_rate=rate,
                                          bit_rate=voice_mod.RECORD_BIT_RATE, suppress_noise=True)


class _Recording:
    """One recording in progress: where its bytes will be, and since when."""

    def __init__(self) -> None:
        self.started = 0.0
        self.path: str | None = None  # native: the file the recorder writes
        self.upload: str | None = None  # PC browser view: the upload-folder name of the stream
        self.uploaded: asyncio.Future[bool] | None = None


async def _start(page: ft.Page, svc: Any, rec: far.AudioRecorder, cur: _Recording) -> bool:
    cur.started = time.monotonic()
    stamp = int(time.time() * 1000)
    if runtime.IN_BROWSER:  # the phone's browser: MediaRecorder, Opus in WebM
        return bool(await rec.start_recording(configuration=_config(far.AudioEncoder.OPUS, 48000)))
    if page.web:  # a PC serving the browser view: stream PCM into the upload folder
        cur.upload = f"{svc.upload_prefix(page.session.id)}/voice-{stamp}.pcm"
        cur.uploaded = asyncio.get_running_loop().create_future()
        settings = far.AudioRecorderUploadSettings(upload_url=page.get_upload_url(cur.upload, 600),
                                                   file_name=cur.upload.rsplit("/", 1)[-1])
        return bool(await rec.start_recording(configuration=_config(far.AudioEncoder.PCM16BITS, PCM_RATE),
                                              upload=settings))
    cur.path = str(svc.store.scratch_path(f"voice-{stamp}.m4a"))
    return bool(await rec.start_recording(cur.path, configuration=_config(far.AudioEncoder.AACLC, voice_mod.RECORD_SAMPLE_RATE)))


async def _stop(svc: Any, rec: far.AudioRecorder, cur: _Recording) -> bytes | None:
    where = await rec.stop_recording()
    if runtime.IN_BROWSER:
        return await _fetch_blob(where) if where else None
    if cur.upload is not None:
        if cur.uploaded is not None:
            try:
                await asyncio.wait_for(cur.uploaded, timeout=30)
            except TimeoutError:
                pass
        pcm = svc.take_upload(cur.upload)
        return voice_mod.wav_bytes(pcm, PCM_RATE) if pcm else None
    path = where or cur.path
    if not path:
        return None
    data = await asyncio.to_thread(read_bytes, path)
    if data is not None:
        await asyncio.to_thread(_unlink, path)  # kept as a blob by sha256 from here on
    return data


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


async def _fetch_blob(url: str) -> bytes | None:  # pragma: no cover - Pyodide only
    import js  # type: ignore[import-not-found]

    resp = await js.fetch(url)
    buf = await resp.arrayBuffer()
    return bytes(js.Uint8Array.new(buf).to_py())


@ft.component
def VoiceNotes(notes: list[VoiceRef], on_change: Callable[[list[VoiceRef]], None],
               key_prefix: str = "voice") -> ft.Control:
    """Pending voice notes of a form: record (stops itself at the cap), pick a file, remove."""
    state = use_app()
    svc = state.services
    latest = ft.use_ref(notes)
    latest.current = notes
    cur_ref = ft.use_ref(None)
    recording, set_recording = ft.use_state(False)
    elapsed, set_elapsed = ft.use_state(0)
    busy, set_busy = ft.use_state(False)
    problems, set_problems = ft.use_state([])
    rec_ref = ft.use_ref(None)
    picker_ref = ft.use_ref(None)

    def on_upload(e: far.AudioRecorderUploadEvent) -> None:
        cur = cur_ref.current
        if cur is None or cur.uploaded is None or cur.uploaded.done():
            return
        if e.error:
            cur.uploaded.set_result(False)
        elif e.progress is not None and e.progress >= 1.0:
            cur.uploaded.set_result(True)

    if rec_ref.current is None:  # strong references: services' handlers stay registered
        rec_ref.current = far.AudioRecorder(on_upload=on_upload)
    if picker_ref.current is None:
        picker_ref.current = new_picker()

    def keep(data: bytes | None, name: str, recorded_ms: int | None = None) -> None:
        if data is None:
            set_problems([t("ui.voice.lost") if recorded_ms is not None else t("ui.voice.unreadable", name=name)])
            return
        try:
            ref = svc.add_voice(data, recorded_ms)
        except ServiceError as exc:
            set_problems([str(exc) if recorded_ms is not None else f"{name}: {exc}"])
            return
        if ref.sha256 not in {n.sha256 for n in latest.current}:
            on_change([*latest.current, ref])

    async def stop(capped: bool = False) -> None:
        cur = cur_ref.current
        cur_ref.current = None
        if cur is None:
            return
        set_recording(False)
        set_busy(True)
        try:
            data = await _stop(svc, rec_ref.current, cur)
        finally:
            set_busy(False)
        keep(data, "", int((time.monotonic() - cur.started) * 1000))
        if capped:
            state.tell(t("ui.voice.stopped_at_cap", max=voice_mod.MAX_SECONDS))

    async def tick(cur: _Recording) -> None:
        """Show the seconds, and stop at the cap (the recorder itself has no limit)."""
        while cur_ref.current is cur:
            secs = int(time.monotonic() - cur.started)
            if secs >= voice_mod.MAX_SECONDS:
                await stop(capped=True)
                return
            set_elapsed(secs)
            await asyncio.sleep(1)

    async def toggle(_: Any) -> None:
        if cur_ref.current is not None:
            await stop()
            return
        set_problems([])
        rec = rec_ref.current
        page = ft.context.page
        try:
            if not await rec.has_permission():
                set_problems([t("ui.voice.no_mic")])
                return
            cur = _Recording()
            if not await _start(page, svc, rec, cur):
                set_problems([t("ui.voice.failed", reason="start")])
                return
        except Exception as exc:  # noqa: BLE001 - a platform without a recorder: say so, keep the form
            set_problems([t("ui.voice.failed", reason=type(exc).__name__)])
            return
        cur_ref.current = cur
        set_elapsed(0)
        set_recording(True)
        asyncio.get_running_loop().create_task(tick(cur))

    async def pick(_: Any) -> None:
        set_problems([])
        picker = picker_ref.current
        files = await picker.pick_files(file_type=ft.FilePickerFileType.CUSTOM,
                                        allowed_extensions=list(voice_mod.PICK_EXTENSIONS),
                                        with_data=runtime.PICKED_BYTES_COME_WITH_PICK)
        if not files:
            return
        set_busy(True)
        try:
            blobs = await picked_bytes(ft.context.page, picker, svc, files[:1])
        finally:
            set_busy(False)
        for name, data in blobs:
            keep(data, name)

    def remove(i: int) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            cur = list(latest.current)
            if 0 <= i < len(cur):
                cur.pop(i)
                on_change(cur)
        return h

    rows: list[ft.Control] = []
    for i, n in enumerate(notes):
        rows.append(ft.Row([
            ft.Icon(ft.Icons.MIC),
            ft.Text(t("ui.voice.n", n=i + 1, length=n.length_text, kb=max(1, round(n.size / 1024))),
                    key=f"{key_prefix}-note:{i}", expand=True),
            ft.TextButton(t("ui.voice.remove_n", n=i + 1), key=f"{key_prefix}-remove:{i}",
                          icon=ft.Icons.CLOSE, on_click=remove(i), height=TAP),
        ]))
    label = (t("ui.voice.stop", elapsed=voice_mod.format_duration(elapsed * 1000)) if recording
             else t("ui.voice.adding") if busy else t("ui.voice.record", max=voice_mod.MAX_SECONDS))
    rows.append(ft.Row([
        (ft.FilledButton if recording else ft.OutlinedButton)(
            label, key=f"{key_prefix}-record", icon=ft.Icons.STOP if recording else ft.Icons.MIC,
            on_click=toggle, disabled=busy, height=TOUCH),
        ft.TextButton(t("ui.voice.pick"), key=f"{key_prefix}-pick", icon=ft.Icons.AUDIO_FILE,
                      on_click=pick, disabled=busy or recording, height=TAP),
    ], wrap=True, spacing=8, run_spacing=8))
    for msg in problems:
        rows.append(ft.Text(msg, color=ft.Colors.ERROR, key=f"{key_prefix}-problem"))
    return ft.Column(rows, spacing=4)


async def _quietly(call: Any) -> None:
    """Release a finished player; a client that never answers must not leave a stuck task."""
    try:
        await asyncio.wait_for(call, timeout=10)
    except Exception:  # noqa: BLE001 - best effort: the next play does not depend on it
        pass


@ft.component
def VoiceList(owner_kind: str, owner_id: str, key: str = "voice") -> ft.Control:
    """The voice notes of a record with their length; a play button for each one here."""
    state = use_app()
    _ = state.version
    svc = state.services
    player = ft.use_ref(None)
    rows = svc.voices_of(owner_kind, owner_id)
    if not rows:
        return ft.Column([])

    def play(sha: str) -> Callable[[Any], Any]:
        async def h(_: Any) -> None:
            data = svc.voice_data(sha)
            if data is None:
                return
            old = player.current
            # autoplay: the client starts it as soon as the service arrives. Awaiting play()
            # on a service made in this same handler never returned in chromium (Flet 1.0.5 web
            # mode; tests/browser/test_voice_browser.py), autoplay does play.
            player.current = fa.Audio(src=data, autoplay=True)
            if old is not None:
                asyncio.get_running_loop().create_task(_quietly(old.release()))
        return h

    items: list[ft.Control] = [section(t("ui.voice.title"))]
    for i, r in enumerate(rows):
        if not r["here"]:
            items.append(ft.Text(t("ui.voice.not_here", n=i + 1, length=r["length_text"]), key=f"{key}:{i}"))
            continue
        items.append(ft.Row([
            ft.Icon(ft.Icons.MIC),
            ft.Text(t("ui.voice.n", n=i + 1, length=r["length_text"], kb=r["size_kb"]), key=f"{key}:{i}", expand=True),
            ft.TextButton(t("ui.voice.play_n", n=i + 1), key=f"{key}-play:{i}", icon=ft.Icons.PLAY_ARROW,
                          on_click=play(r["sha256"]), height=TAP),
        ]))
    return ft.Column(items, spacing=4)
