"""Sneakernet bundles (.gwb, docs/bundle-format.md). Server-side import: ``sync.bundles.server_side``."""
