"""The .gwb bundle format (docs/bundle-format.md): ``sync.bundles.format`` only.

The device half (export, apply a return bundle) is ``sync.client.bundles``; the server half
(import, receipts, return bundles, the HTTP route) is ``sync.server.bundles``.
"""
