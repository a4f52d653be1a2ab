"""The Flet 1.0 field app: declarative screens, components and app state.

Screens call ``app.services`` only; they know nothing of TinyDB, files or HTTP.
"""
