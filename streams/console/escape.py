"""Escaping, and the security headers of every console page.

Handles, tags, niche names and alert texts come from the public internet. Every value
that reaches a page goes through :func:`esc` (element text and quoted attribute values
alike) or :func:`url_query` (links); nothing from data is ever placed inside a tag name,
an unquoted attribute, a style or a script. The pages carry no script at all, and the
Content-Security-Policy says so to the browser: if an escaping bug ever let markup
through, an injected ``<script>`` or ``onerror=`` would still not run.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping
from urllib.parse import urlencode


def esc(value: object) -> str:
    """Text safe inside an element or a double-quoted attribute."""
    return html.escape(str(value), quote=True)


def url_query(path: str, params: Mapping[str, str | None]) -> str:
    """``path?k=v`` with every value percent-encoded (then escaped, for use in ``href``)."""
    kept = {k: v for k, v in params.items() if v}
    return esc(f"{path}?{urlencode(kept)}" if kept else path)


def style_hash(css: str) -> str:
    digest = hashlib.sha256(css.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def security_headers(css: str) -> dict[str, str]:
    """No script from anywhere, the page's one inline stylesheet by hash, nothing external."""
    policy = "; ".join((
        "default-src 'none'",
        "script-src 'none'",
        f"style-src {style_hash(css)}",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ))
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
