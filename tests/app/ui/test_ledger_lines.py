"""The ledger's lines kept per issue (app/services/ledger_lines.py) give the ledger a plain
fold of every issue gives (``sync.reports.ledger.build_ledger`` over every record): for the
year and for a past month, after an action, after a restart (read from the file, nothing made
again), with the file damaged, and for a flagged issue."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from staff_seed import seeded_township

from app.device import open_device
from app.services import ledger_lines
from app.services.common import china_today
from sync.reports.dates import parse_period
from sync.reports.ledger import _row_values, build_ledger

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def town(tmp_path: Path) -> Path:
    """300 issues of a seeded township, one of them flagged (staff_seed.seeded_township)."""
    return seeded_township(tmp_path / "data", issues=300, villages=4, households=100)


def rows(device, period: str, kept: bool) -> list[list]:
    """The ledger's rows: through the kept lines (as the export makes them), or plainly."""
    per = parse_period(period)
    as_of = min(per.end, china_today())
    reports = device.staff.reports
    if kept:
        ds = reports.dataset(without=("issue_event", "household"))
        if reports._ledger_lines is None:
            reports._ledger_lines = ledger_lines.LedgerLines(device.store)
        led = build_ledger(ds, per, as_of=as_of, lines=reports._ledger_lines.lines(ds, as_of))
    else:
        led = build_ledger(reports.dataset(), per, as_of=as_of)
    return [_row_values(led, r) for r in led.rows]


def made(device) -> int:
    return device.staff.reports._ledger_lines.made


def test_kept_lines_give_the_plain_ledger_across_actions_and_restarts(town: Path) -> None:
    year, month = str(china_today().year), china_today().replace(day=1)
    past = f"{month - timedelta(days=40):%Y-%m}"  # a month or two ago
    device = open_device(town, background=False)
    try:
        want = rows(device, year, kept=False)
        assert len(want) > 100 and any(r[8:-2] != [""] * (len(r) - 10) for r in want)  # progress cells
        assert rows(device, year, kept=True) == want
        assert made(device) == 300  # the first export makes every line
        assert (town / ledger_lines.FILE).exists()
        assert rows(device, year, kept=True) == want and made(device) == 0
        assert rows(device, past, kept=True) == rows(device, past, kept=False)  # issues as they stood then
        # an action: only that issue's line is made again
        todo = device.staff.board({"status": "submitted"})["rows"][0]["id"]
        device.staff.act(todo, "accept", {})
        after = rows(device, year, kept=True)
        assert made(device) == 1 and after == rows(device, year, kept=False) and after != want
    finally:
        device.close()
    device = open_device(town, background=False)  # a restart: the lines come from the file
    try:
        assert rows(device, year, kept=True) == after and made(device) == 0
    finally:
        device.close()
    (town / ledger_lines.FILE).write_bytes(b'{"version": 2, "lines": {"x": [1]')  # cut short
    device = open_device(town, background=False)
    try:
        assert rows(device, year, kept=True) == after and made(device) == 300
    finally:
        device.close()


def test_a_line_kept_for_the_year_is_not_used_for_a_period_before_its_events(town: Path) -> None:
    device = open_device(town, background=False)
    try:
        year = str(china_today().year)
        rows(device, year, kept=True)
        lines = device.staff.reports._ledger_lines._kept
        moved = [line for _key, line in lines.values() if line.last_day > f"{date.today():%Y-%m}-01"]
        assert moved  # the seed's issues move up to today
        first = f"{china_today().replace(day=1) - timedelta(days=1):%Y-%m}"  # last month
        assert rows(device, first, kept=True) == rows(device, first, kept=False)
    finally:
        device.close()


def test_an_event_replaced_by_an_earlier_version_remakes_its_line(town: Path) -> None:
    """Events are only ever added, or replaced whole by an earlier version of a differing
    re-send (sync.merge): the kept line follows the fold's mark, not the count of events."""
    import json

    device = open_device(town, background=False)
    try:
        year = str(china_today().year)
        before = rows(device, year, kept=True)
        cells = "\n".join(str(c) for row in before for c in row)
        ev = next(e for e in device.store.all("issue_event")  # a progress note the ledger shows
                  if e["fields"]["type"] == "progress" and (e["fields"].get("data") or {}).get("note")
                  and e["fields"]["data"]["note"] in cells)
        older = json.loads(json.dumps(ev))
        older["fields"]["data"] = {**(older["fields"].get("data") or {}), "note": "换了一个说法"}
        # the same moment and counter, a lower node: earlier than the original, after the rest
        older["stamps"] = {k: v.rsplit("-", 1)[0] + "-0" for k, v in older["stamps"].items()}
        assert all(older["stamps"][k] < v for k, v in ev["stamps"].items())
        device.store.apply_remote([older], None)
        assert device.store.get("issue_event", ev["id"])["fields"]["data"]["note"] == "换了一个说法"
        got = rows(device, year, kept=True)
        assert made(device) == 1 and got == rows(device, year, kept=False)
        assert any("换了一个说法" in str(cell) for row in got for cell in row)
    finally:
        device.close()
