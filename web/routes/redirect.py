"""The short-link redirect: ``GET /{code}`` on every tracking domain, and the Continue
button of the preview page (``POST /{code}``).

Registered after every other route, so it only sees paths nothing else claimed. One core
call each (core.tracking.redirect); the answer is a 302 with ``Cache-Control: no-store``
(a cached redirect would hide every later click), the preview page, or a small branded
404 page."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from time import perf_counter

from aiohttp import HttpVersion11, web
from aiohttp.hdrs import EXPECT, USER_AGENT
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE
from multidict import CIMultiDict

from core.tracking.redirect import Answer, Outcome, is_code
from web.keys import METRICS, SERVICES
from web.metrics import REDIRECT_ROUTE
from web.openapi import operation

routes = web.RouteTableDef()

NO_STORE = "no-store"
_ERRORS = {404: "No such link on this domain (`link_not_found`): a small HTML page, the "
                "code in `X-Trackly-Error`"}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;
color:#222;text-align:center}}button{{font-size:1.1rem;padding:.7rem 2.2rem;border:0;
border-radius:.4rem;background:#2457d6;color:#fff}}small{{color:#888}}</style></head>
<body>{body}<p><small>Trackly</small></p></body></html>
"""


def _page(title: str, body: str, *, status: int, code: str | None = None) -> web.Response:
    headers = {"Cache-Control": NO_STORE}
    if code:
        headers["X-Trackly-Error"] = code
    return web.Response(text=_PAGE.format(title=html.escape(title), body=body),
                        status=status, content_type="text/html", headers=headers)


def not_found() -> web.Response:
    return _page("Link not found", "<h1>Link not found</h1><p>This link does not exist or "
                 "is no longer active. Check the address in your message.</p>",
                 status=404, code="link_not_found")


def preview_page(code: str, brand: str) -> web.Response:
    name = html.escape(brand or "this offer")
    return _page(f"Continue to {brand or 'your link'}",
                 f"<h1>{name}</h1><p>Press Continue to open your link.</p>"
                 f'<form method="post" action="/{html.escape(code)}">'
                 '<button type="submit" id="continue">Continue</button></form>',
                 status=200)


def _render(outcome: Outcome, code: str) -> web.Response:
    if outcome.answer is Answer.REDIRECT and outcome.location:
        return web.Response(status=302, headers={"Location": outcome.location,
                                                 "Cache-Control": NO_STORE})
    if outcome.answer is Answer.PREVIEW_PAGE:
        return preview_page(code, outcome.brand)
    return not_found()


@routes.get("/{code}")
@operation("Short-link redirect, on any tracking domain (the Host picks the account)",
           tag="tracking", public=True, status=302, response={"type": "string"},
           response_content_type="text/html", errors=_ERRORS,
           description="302 to the offer with its macros filled, `Cache-Control: no-store`; "
                       "in preview mode a suspected bot gets a page with a Continue button.")
async def follow(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    redirects = request.app[SERVICES].redirects
    outcome = await redirects.click(
        host=request.host, code=code, method=request.method,
        user_agent=request.headers.get("User-Agent", ""),
        address=redirects.client_address(request.remote or "", request.headers),
        headers=request.headers)
    return _render(outcome, code)


@routes.post("/{code}")
@operation("Continue from the preview page: counts as a person's click", tag="tracking",
           public=True, status=302, response={"type": "string"},
           response_content_type="text/html", errors=_ERRORS)
async def proceed(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    redirects = request.app[SERVICES].redirects
    outcome = await redirects.proceed(
        host=request.host, code=code, user_agent=request.headers.get("User-Agent", ""),
        address=redirects.client_address(request.remote or "", request.headers))
    return _render(outcome, code)


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
_STATUS_LINE = b"HTTP/1.1 302 Found\r\nLocation: "
_TAIL = f"\r\nServer: {SERVER_SOFTWARE}\r\n\r\n".encode("ascii")


class Preformatted(web.StreamResponse):
    """A redirect written as one block of bytes, formatted as aiohttp formats it (the
    same headers, in the same order). aiohttp's own response took a third of a
    redirect's CPU: a header multidict built, filled and serialized, and five coroutines
    awaited, for a response that differs from the last one only in its Location and
    Date. Only for a keep-alive HTTP/1.1 GET (the front door checks); anything else gets
    aiohttp's response.

    StreamResponse.__init__ is left out on purpose (the multidict it makes is the cost
    saved); the attributes aiohttp reads after the handler (status, keep-alive, state,
    body length) are set here, and ``headers`` is made when something asks."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._status = 302
        self._reason = "Found"
        self._keep_alive = True
        self._state = {}

    @property
    def headers(self) -> CIMultiDict[str]:
        lines = self._data.decode("utf-8").split("\r\n")[1:-2]
        return CIMultiDict((name, value) for name, _, value in
                           (line.partition(": ") for line in lines))

    async def prepare(self, request: web.BaseRequest) -> None:
        if self._eof_sent:
            return
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away before its redirect")
        transport.write(self._data)
        self._eof_sent = True
        # A client that does not read (a slow network, a pipeliner): wait as aiohttp's
        # own response does once the unsent answers pass the high-water mark, so this
        # connection's next requests wait and aiohttp stops reading them. Without it
        # every request that came was answered into memory (about 200 bytes each).
        if request.protocol.writing_paused:
            await request.writer.drain()

    async def write_eof(self, data: bytes = b"") -> None:
        return None  # everything went in prepare()


class _Heads:
    """The bytes of a redirect to each destination, up to its Date: built once per
    destination (bounded), None for one aiohttp would refuse (a line break in it)."""

    def __init__(self, size: int = 20_000) -> None:
        self._heads: dict[str, bytes | None] = {}
        self._size = size
        self._date = ""
        self._date_line = b""

    def __call__(self, location: str) -> bytes | None:
        head = self._heads.get(location)
        if head is None and location not in self._heads:
            head = None if ("\r" in location or "\n" in location) else (
                _STATUS_LINE + location.encode("utf-8")
                + b"\r\nCache-Control: no-store\r\nContent-Length: 0\r\nDate: ")
            if len(self._heads) >= self._size:
                self._heads.clear()
            self._heads[location] = head
        return head

    def date(self) -> bytes:
        """aiohttp's Date (the same text, kept per second), as bytes with the tail."""
        now = rfc822_formatted_time()
        if now is not self._date:
            self._date = now
            self._date_line = now.encode("ascii") + _TAIL
        return self._date_line


class FrontDoor:
    """The server's request handler, in front of the app's: ``GET /{code}`` for a link the
    cache holds (or knows is absent) is answered here, with no routing, no middleware and
    no await, so a hit cannot wait on the database; the app's router and middlewares
    were most of a redirect's time, for a request that needs none of them. A keep-alive
    HTTP/1.1 redirect is written as preformatted bytes (Preformatted). Everything else,
    including a link that needs the database, a click that comes before the detector's
    tables are loaded and a request with an Expect header, goes to the app, whose
    ``follow`` answers it as before. The redirect's request count and latency are kept
    as the metrics middleware keeps them (``GET /metrics``)."""

    def __init__(self, app: web.Application, handler: Handler) -> None:
        self._handler = handler
        self._redirects = app[SERVICES].redirects
        self._metrics = app[METRICS]
        self._claimed = claimed_codes(app)
        self._heads = _Heads()

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "GET":
            started = perf_counter()
            code = request.raw_path[1:]  # no decoding: an escaped code goes to the app
            if "?" in code:
                code = code.split("?", 1)[0]
            headers = request.headers
            # An Expect header is answered by aiohttp's router (a 100 before the 302, or
            # 417), which the front door skips: such a request goes to the app.
            if is_code(code) and code not in self._claimed and EXPECT not in headers:
                redirects = self._redirects
                outcome = redirects.answer_now(
                    request.host, code, "GET", headers.get(USER_AGENT, ""),
                    redirects.client_address(request.remote or "", headers), headers)
                if outcome is not None:
                    response: web.StreamResponse | None = None
                    if (outcome.answer is Answer.REDIRECT and outcome.location
                            and request.version == HttpVersion11 and request.keep_alive):
                        head = self._heads(outcome.location)
                        if head is not None:
                            response = Preformatted(head + self._heads.date())
                    if response is None:
                        response = _render(outcome, code)
                    self._metrics.observe(REDIRECT_ROUTE, response.status,
                                          perf_counter() - started)
                    return response
        return await self._handler(request)


def claimed_codes(app: web.Application) -> frozenset[str]:
    """Paths of one segment that another route serves (``/healthz``, ``/metrics``): the
    router gives them to that route, so the front door must too. A route of one dynamic
    segment other than the redirect's would take codes the front door cannot tell: it is
    refused here, at start-up, rather than answered wrongly."""
    claimed = set()
    for resource in app.router.resources():
        canonical = resource.canonical
        if canonical.count("/") != 1 or canonical == "/{code}":
            continue
        if not isinstance(resource, web.PlainResource):
            raise RuntimeError(f"route {canonical} would take short codes from the "
                               "redirect's front door (web.routes.redirect.FrontDoor)")
        claimed.add(canonical[1:])
    return frozenset(claimed)
