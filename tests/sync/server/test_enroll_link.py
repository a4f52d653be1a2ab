"""`gridwall admin enroll` prints the phone app's link with the one-time code and its QR code;
the app reads the code back from the link (sync/enroll_link.py)."""

from __future__ import annotations

from pathlib import Path

import segno
from PIL import Image

from sync.enroll_link import app_url, code_from_url
from sync.server import auth, db
from tests.sync.server.test_server_admin import _setup, gw


def test_the_link_carries_the_code_in_its_fragment_and_is_read_back() -> None:
    url = app_url("http://192.168.1.10:8000/", " ABCD-EFGH ")
    assert url == "http://192.168.1.10:8000/app/#enroll=ABCD-EFGH"  # never sent to the server
    assert code_from_url(url) == "ABCD-EFGH"
    assert code_from_url("http://h:1/app/?enroll=WXYZ-2345") == "WXYZ-2345"  # typed by hand
    assert code_from_url("http://h:1/app/#/?enroll=Q") == "Q"
    for none in (None, "", "http://h:1/app/", "http://h:1/app/#enroll=", "http://h:1/app/?x=1"):
        assert code_from_url(none) is None


def test_admin_enroll_prints_the_link_and_its_qr_code(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    _setup(db_url, tmp_path)
    png, svg = tmp_path / "qr.png", tmp_path / "qr.svg"
    r = gw("enroll", "--user", "张网格", "--server", "http://10.0.0.5:8000", "--qr-out", str(png),
           db_url=db_url, cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    link = next(w for w in r.stdout.split() if "#enroll=" in w)
    assert link.startswith("http://10.0.0.5:8000/app/#enroll=")
    code = code_from_url(link)
    assert code and f"注册码：{code}" in r.stdout
    assert "█" in r.stdout or "▀" in r.stdout  # the QR code drawn in the terminal
    # The PNG is the link's QR code, module for module.
    want = segno.make(link, error="m")
    img = Image.open(png).convert("1")
    scale, border = 8, 4
    w, _h = want.symbol_size(scale=1, border=0)
    assert img.size == ((w + 2 * border) * scale,) * 2
    for y, row in enumerate(want.matrix):
        for x, dark in enumerate(row):
            px = img.getpixel(((x + border) * scale + scale // 2, (y + border) * scale + scale // 2))
            assert (px == 0) == bool(dark)
    # The code in the link enrolls a device (once).
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        assert auth.enroll(conn, code, "手机")["user"]["name"] == "张网格"
    engine.dispose()
    r = gw("enroll", "--user", "张网格", "--server", "http://10.0.0.5:8000", "--no-qr", "--qr-out", str(svg),
           db_url=db_url, cwd=tmp_path)
    assert r.exit_code == 0 and "<svg" in svg.read_text() and "█" not in r.stdout


def test_admin_enroll_refuses_a_bad_server_or_qr_file_before_making_a_code(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    _setup(db_url, tmp_path)
    for args, words in ((("--server", "10.0.0.5:8000"), "http://"), (("--qr-out", "qr.jpg"), ".png")):
        r = gw("enroll", "--user", "张网格", *args, db_url=db_url, cwd=tmp_path)
        assert r.exit_code == 1 and words in r.stderr and "Traceback" not in r.stderr
        assert "注册码" not in r.stdout
