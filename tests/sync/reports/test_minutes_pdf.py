"""Printable minutes (sync/reports/minutes.py): an A4 PDF holding every 十有 item as text, with
every font embedded, over several pages when the record is long."""

from __future__ import annotations

import subprocess

from sync.reports.minutes import Minutes, write_minutes_pdf


def _run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def minutes(**kw) -> Minutes:  # type: ignore[no-untyped-def]
    base = dict(village="东风村", kind="院坝会", time="2026-11-30 19:30", place="3组晒坝", topic="修缮村道排水沟",
                host="李红军", recorder="张晓燕", participants=["孙德明", "王大爷", "堃婶"], headcount=23,
                agenda="一、排水沟现状\n二、出工出资办法", speeches="王大爷：雨季积水进屋。\n孙德明：愿意带头出工。",
                decisions="每户出工两天，村里出材料", follow_ups="孙德明负责12月10日前排工",
                raised=["3组排水沟堵塞（已上报）"], photos=2)
    base.update(kw)
    return Minutes(**base)


def test_minutes_hold_every_item_as_text_with_embedded_fonts(tmp_path):
    out = tmp_path / "m.pdf"
    assert write_minutes_pdf(minutes(), out) == 1
    text = _run("pdftotext", "-layout", str(out), "-").replace(" ", "")
    for s in ("东风村院坝会会议记录", "2026-11-3019:30", "3组晒坝", "修缮村道排水沟", "李红军", "张晓燕",
              "孙德明、王大爷、堃婶（到会23人）", "二、出工出资办法", "雨季积水进屋", "每户出工两天，村里出材料",
              "12月10日前排工", "1.3组排水沟堵塞（已上报）", "现场照片2张", "主持人签字", "记录人签字",
              "有事必记·有记建档·有档可查", "第1页"):
        assert s in text, s
    info = _run("pdfinfo", str(out))
    assert "(A4)" in info and "修缮村道排水沟" in info
    rows = _run("pdffonts", str(out)).splitlines()[2:]
    assert rows
    for row in rows:  # name type encoding emb sub uni object ID: every font embedded, as a subset
        cols = row.split()
        assert cols[-5] == "yes" and cols[-4] == "yes", row


def test_missing_items_are_said_to_be_missing_and_long_records_run_on(tmp_path):
    out = tmp_path / "m.pdf"
    pages = write_minutes_pdf(minutes(agenda="", decisions="", raised=[], photos=0, headcount=None,
                                      speeches="发言。" * 1500), out)
    assert pages >= 2
    text = _run("pdftotext", "-layout", str(out), "-").replace(" ", "")
    assert text.count("（无）") >= 3 and "现场照片" not in text and "到会" not in text
    assert "第2页" in text
