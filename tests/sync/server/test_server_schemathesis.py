"""Schemathesis against the live server's OpenAPI document: generated valid and invalid
requests on every operation (authenticated as an enrolled device); no response is a 5xx."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.server import Org, RunningServer, enroll_device


def test_schemathesis_finds_no_server_errors(server: RunningServer, org: Org, tmp_path: Path) -> None:
    dev = enroll_device(server, "张网格")
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [
        str(exe), "run", f"{server.api}/openapi.json",
        "--checks", "not_a_server_error",
        "--max-examples", "30",
        "--phases", "examples,coverage,fuzzing",
        "--header", f"Authorization: Bearer {dev.token}",
        "--generation-database", "none",
        "--seed", "20261124",
        "--no-shrink",
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
    ]  # fmt: skip
    env = dict(os.environ, SCHEMATHESIS_HOOKS="")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    # it really exercised every operation of the document
    spec = requests.get(f"{server.api}/openapi.json", timeout=30).json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert operations >= 9
    assert f"Tested: {operations}" in out
    generated = int(re.search(r"(\d+) generated", out).group(1))
    assert generated >= 100
