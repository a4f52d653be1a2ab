"""Reports: figures (metrics), the rectification ledger (整改台账), the echo wall (回音壁).

Pure functions over lists of record dicts (docs/architecture.md), so the server, the app and
tests share them; see docs/reports.md.
"""
