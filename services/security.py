"""Security headers the app adds to its responses (``services.app``, ``services.fast_feeds``)."""

from __future__ import annotations

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (("X-Content-Type-Options", "nosniff"),)
"""Added to every response (unless the view set them)."""

HTML_SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
"""Added as well to every response whose mimetype is ``text/html`` (Flask's default, so also
to a bare ``Response(status=304)``)."""
