"""The central server: FastAPI sync API over a SQL store (SQLite or PostgreSQL) and a blob store.

Plain functions on a connection (no HTTP): ``db`` (tables, engines, migrations, ``now_ms``,
``dumps``), ``auth`` (principals, secrets, tokens, enrollment), ``authz`` (who may write what),
``feed`` (apply changes, pull, conflicts), ``admin`` (organisation, devices, holidays, status).
HTTP: ``http`` (what every router shares), ``api`` (the sync API), ``bundles`` (import),
``wall`` and ``front`` (the public pages). ``cli``: ``gridwall server`` and ``gridwall admin``.
"""
