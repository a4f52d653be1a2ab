"""The link that enrolls a phone: the field app's URL carrying a one-time code.

``gridwall admin enroll --server URL`` prints it (and its QR code); the phone's camera app
opens it; the app in the browser reads the code and fills in its enrol screen, and the grid
worker confirms. The code travels in the fragment (``/app/#enroll=ABCD-EFGH``): a browser
never sends a fragment to the server, so the code is in no access log or cache key.
``?enroll=`` is read too (a link typed by hand).
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

PARAM = "enroll"


def app_url(server_url: str, code: str, mount: str = "/app") -> str:
    """The app's URL on ``server_url`` with ``code`` for the enrol screen."""
    return f"{server_url.rstrip('/')}{mount}/#{PARAM}={quote(code.strip(), safe='-')}"


def code_from_url(url: str | None) -> str | None:
    """The one-time code a URL carries (fragment or query), or None."""
    if not url:
        return None
    parts = urlsplit(url)
    for part in (parts.fragment, parts.query):
        values = parse_qs(part.lstrip("/?")).get(PARAM)
        if values and values[0].strip():
            return values[0].strip()[:64]
    return None
