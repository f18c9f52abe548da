"""The aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from core.services import Services
from web.errors import MAX_BODY, error_middleware
from web.keys import METRICS, SERVICES
from web.metrics import HttpMetrics
from web.routes import (
    account,
    callbacks,
    contacts,
    creatives,
    health,
    imports,
    lists,
    messages,
    offers,
    send,
)

ROUTE_TABLES = [health.routes, account.routes, lists.routes, contacts.routes, imports.routes,
                offers.routes, creatives.routes, messages.routes, send.routes,
                callbacks.routes]


def create_app(services: Services) -> web.Application:
    metrics = HttpMetrics()
    # Metrics outermost: they count the answer error_middleware made of an exception.
    app = web.Application(middlewares=[metrics.middleware, error_middleware],
                          client_max_size=MAX_BODY)
    app[SERVICES] = services
    app[METRICS] = metrics
    for table in ROUTE_TABLES:
        app.add_routes(table)
    return app
