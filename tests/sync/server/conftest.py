"""Fixtures: a throwaway PostgreSQL cluster for the session, a fresh database per test on
SQLite and on PostgreSQL, the server on a free port in a thread (real HTTP), an organisation
with enrolled devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Org, PgCluster, RunningServer, make_org, start_pg_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of our own (initdb + pg_ctl) on 127.0.0.1 and a free port."""
    cluster = start_pg_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.sqlite3'}"
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    srv = RunningServer(db_url, tmp_path / "blobs")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def org(server: RunningServer) -> Org:
    return make_org(server)
