"""gridwall sync: what both ends of the wire agree on (records, merge, clocks), and both ends.

Nothing under ``sync/`` imports ``app`` or Flet.
"""
