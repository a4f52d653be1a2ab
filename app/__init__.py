"""gridwall app: the Flet field app, the device store (TinyDB) and the ``gridwall`` command."""
