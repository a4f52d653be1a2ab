"""Shared test support: ``net.free_port``, the real server in a thread and the organisations
built on it (``server``), the link emulator (``linkemu``) and the reports' town factory."""
