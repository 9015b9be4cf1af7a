"""The web console's static files (``/console/``), public like any web page's code; every data call the
console makes is an API call that needs the user's credential.

The files (plain HTML, CSS and JavaScript modules: no build step) ship inside the package
(``jqm_node/console``) and are read once, when the application is built; each answer carries a strong
ETag (``If-None-Match`` answers 304) and strict security headers: a Content-Security-Policy that allows
the node's own scripts, styles, images and API calls only (no inline script, no other origin, no
framing), ``nosniff``, no referrer. The console keeps the credential in ``sessionStorage`` and sends it
as HTTP Basic on each call; it uses no cookie, so no other site can make a browser call the API on the
user's behalf (no CSRF).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from jqm_node.api.routes import Route, route
from jqm_node.errors import NotFoundError

CONSOLE_PATH = "/console/"
INDEX = "index.html"
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.(?:html|js|css|svg)")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
"""On every answer of the console's files (``no-cache``: revalidated with the ETag, so an upgraded node
serves its new console at once)."""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file of the packaged console, by name (flat directory; names are checked at load)."""
    assets: dict[str, Asset] = {}
    for item in resources.files("jqm_node").joinpath("console").iterdir():
        if not item.is_file() or not _NAME.fullmatch(item.name):
            continue
        body = item.read_bytes()
        suffix = item.name[item.name.rindex(".") :]
        digest = hashlib.sha256(body).hexdigest()[:32]
        assets[item.name] = Asset(body=body, content_type=_TYPES[suffix], etag=f'"{digest}"')
    if INDEX not in assets:
        raise RuntimeError("the web console is missing from the jqm_node package (console/index.html)")
    return assets


def _answer(request: web.Request, asset: Asset) -> web.Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if asset.content_type.startswith("text/") else None
    return web.Response(body=asset.body, content_type=asset.content_type, charset=charset, headers=headers)


def routes() -> list[Route]:
    assets = load_assets()

    async def to_console(request: web.Request) -> web.Response:
        """``GET /console``: to ``/console/``, where the page's relative links resolve."""
        return web.Response(status=301, headers={**SECURITY_HEADERS, "Location": "console/"})

    async def index(request: web.Request) -> web.Response:
        return _answer(request, assets[INDEX])

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = assets.get(name)
        if found is None:
            raise NotFoundError(f"the web console has no file {name!r}")
        return _answer(request, found)

    return [
        route(web.get(CONSOLE_PATH.rstrip("/"), to_console)),
        route(web.get(CONSOLE_PATH, index)),
        route(web.get(CONSOLE_PATH + "{name}", asset)),
    ]
