"""The aiohttp application factory, and how the server that runs it reads requests."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from core.services import Services
from core.tracking.redirect import RedirectService
from web.errors import MAX_BODY, error_middleware
from web.keys import METRICS, SERVICES
from web.metrics import HttpMetrics
from web.routes import (
    account,
    audit,
    billing,
    callbacks,
    campaigns,
    contacts,
    conversions,
    creatives,
    health,
    imports,
    journeys,
    lists,
    messages,
    networks,
    offers,
    redirect,
    replies,
    reports,
    send,
    team,
    webhooks,
)

ROUTE_TABLES = [health.routes, account.routes, lists.routes, contacts.routes, imports.routes,
                offers.routes, creatives.routes, messages.routes, send.routes,
                callbacks.routes, replies.routes, conversions.routes, webhooks.routes,
                reports.routes, networks.routes, billing.routes, team.routes, audit.routes,
                journeys.routes, campaigns.routes,
                redirect.routes]  # last: GET /{code} takes what no other route claimed


class AppRunner(web.AppRunner):
    """aiohttp's runner for our app, with the redirect's front door before the app
    (web.routes.redirect.FrontDoor): every server of the app (``trackly run``, the
    benchmarks, the tests' servers) answers a cached short link the same way."""

    async def setup(self) -> None:
        await super().setup()
        server = self.server
        assert server is not None
        server.request_handler = redirect.FrontDoor(self.app, server.request_handler)


def create_app(services: Services) -> web.Application:
    metrics = HttpMetrics()
    metrics.services = services
    # Metrics outermost: they count the answer error_middleware made of an exception.
    app = web.Application(middlewares=[metrics.middleware, error_middleware],
                          client_max_size=MAX_BODY)
    app[SERVICES] = services
    app[METRICS] = metrics
    for table in ROUTE_TABLES:
        app.add_routes(table)
    app.cleanup_ctx.append(_click_recorder)
    return app


async def _click_recorder(app: web.Application) -> AsyncIterator[None]:
    """Clicks are written in the background while the app serves, and every buffered
    one is written on the way out (after the server stopped taking requests)."""
    redirects = app[SERVICES].redirects
    redirects.recorder.start()
    warming = asyncio.create_task(_warm(redirects))
    # Before the server listens: a process started during a blast finds the newest
    # links in its cache instead of each first click waiting for a SELECT of its own.
    try:
        await redirects.links.preload()
    except Exception:  # a cold cache costs the first clicks a SELECT each, nothing more
        logging.getLogger(__name__).exception("reading the newest links into the cache failed")
    yield
    try:
        await warming
    except Exception:  # the detector's tables: a failed load must not cost the clicks
        logging.getLogger(__name__).exception("loading the click detector's tables failed")
    finally:
        await redirects.recorder.close()
        gc.unfreeze()  # several apps in one process (tests): theirs go back to the collector


async def _warm(redirects: RedirectService) -> None:
    """Load the detector's tables, then take everything the process holds so far (the
    tables, the modules, the app) out of the cyclic collector's view: they live as long
    as the process, and a full collection walked them all, about 0.4 s on a busy
    2-core machine during which no request was answered (gc.freeze; the collector's
    young generations, where a request's objects die, are untouched)."""
    await redirects.warm()
    gc.freeze()


# aiohttp refuses a request line or header field over 8 KB itself, before any middleware
# sees it: a plain-text 400 instead of our JSON error. An over-long X-Api-Key (a client
# putting a token of some other system in it) must reach authentication and get our 401,
# so the server reads up to 32 KB; past that, aiohttp's own answer is all we can give.
MAX_HEADER = 32 * 1024


class _ClientFaults(logging.Filter):
    """aiohttp logs a request it cannot parse as an error with a traceback. It is the
    client's mistake and must not page anyone: one line at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = "Bad request from %s refused: %s", (
            remote, f"{type(exc).__name__}: {(exc.message or '')[:120]}")
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return server_log.isEnabledFor(logging.INFO)


server_log = logging.getLogger("web.server")
server_log.addFilter(_ClientFaults())


def server_args() -> dict[str, Any]:
    """Keyword arguments for the ``AppRunner`` (or test server) that serves the app."""
    return {"max_line_size": MAX_HEADER, "max_field_size": MAX_HEADER, "logger": server_log}
