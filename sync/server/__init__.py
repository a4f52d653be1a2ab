"""The central server: FastAPI sync API over a SQL store (SQLite or PostgreSQL) and a blob store.

Layers: ``db`` (tables, engines, migrations), ``store`` (plain functions: apply changes, pull,
organisation, enrollment; no HTTP), ``blobs`` (content-addressed files), ``api`` (HTTP), ``cli``
(``gridwall server`` and ``gridwall admin``).
"""
