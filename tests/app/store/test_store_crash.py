"""SIGKILL a writer process at random moments, hundreds of times; the store must always open
and hold every save that returned (and its change in the outbox), and the pull cursor must
never be ahead of the data it stands for."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crash_writer import page
from store_helpers import load_merger

from app.store import Store

ROOT = Path(__file__).resolve().parents[3]
SAVE_KILLS = 240
PULL_KILLS = 80
RUNS_PER_DIR = 40  # a fresh data folder now and then keeps each reopen quick


def _run_and_kill(mode: str, data_dir: Path, seed: int, rng: random.Random) -> list[str]:
    """Start the writer, SIGKILL it at a random moment, return the complete lines it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.app.store.crash_writer", mode, str(data_dir), str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    if rng.random() < 0.8:
        # Mostly kill while it is saving; sometimes during start-up and recovery.
        r, _, _ = select.select([proc.stdout], [], [], 20)
        assert r, "writer did not start"
        time.sleep(rng.uniform(0, 0.06))
    else:
        time.sleep(rng.uniform(0, 0.3))
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")
    text = out.decode()
    return text[: text.rfind("\n") + 1].splitlines() if "\n" in text else []


@pytest.mark.slow
def test_sigkill_during_saves_loses_nothing_that_returned(tmp_path):
    rng = random.Random(20261124)
    merger = load_merger()
    reported: dict[str, tuple[str, str, int]] = {}  # change id -> (kind, record id, n)
    data_dir = tmp_path / "d0"
    saves = 0
    for run in range(SAVE_KILLS):
        if run % RUNS_PER_DIR == 0:
            data_dir = tmp_path / f"d{run}"
            reported = {}
        lines = _run_and_kill("save", data_dir, run, rng)
        for line in lines:
            if line == "ready":
                continue
            kind, rid, cid, n = line.split()
            reported[cid] = (kind, rid, int(n))
        saves += len(lines)
        store = Store.open(data_dir, merger=merger)  # always opens
        try:
            assert store.damaged_files() == []
            pending = {c["change_id"] for c in store.pending_changes(10**6)}
            for cid, (kind, rid, n) in reported.items():
                rec = store.get(kind, rid)
                assert rec is not None, f"run {run}: saved {kind} {rid} is gone"
                assert rec["fields"]["n"] >= n, f"run {run}: {rid} went back"
                assert cid in pending, f"run {run}: change {cid} left the outbox"
        finally:
            store.close()
    assert saves > SAVE_KILLS  # the kills really landed among saves


@pytest.mark.slow
def test_sigkill_during_apply_remote_never_leaves_cursor_ahead(tmp_path):
    rng = random.Random(4242)
    merger = load_merger()
    data_dir = tmp_path / "p0"
    seed = 0
    for run in range(PULL_KILLS):
        if run % RUNS_PER_DIR == 0:
            seed = run + 1
            data_dir = tmp_path / f"p{run}"
            applied = 0
        lines = _run_and_kill("pull", data_dir, seed, rng)
        applied = max([applied] + [int(x) for x in lines if x != "ready"])
        store = Store.open(data_dir, merger=merger)
        try:
            assert store.damaged_files() == []
            cursor = int(store.cursor() or 0)
            assert cursor >= applied, f"run {run}: page {applied} returned, cursor {cursor}"
            # Every page up to the cursor is in the data, with at least its values.
            for n in range(1, cursor + 1):
                for rec in page(seed, n):
                    got = store.get("visit", rec["id"])
                    assert got is not None, f"run {run}: page {n} record missing, cursor {cursor}"
                    assert got["stamps"]["page"] >= rec["stamps"]["page"]
        finally:
            store.close()
