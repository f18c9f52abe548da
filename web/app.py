"""The aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from core.services import Services
from web.errors import MAX_BODY, error_middleware
from web.keys import SERVICES
from web.routes import (
    account,
    contacts,
    creatives,
    health,
    imports,
    lists,
    messages,
    offers,
    send,
    webhooks,
)

ROUTE_TABLES = [health.routes, account.routes, lists.routes, contacts.routes, imports.routes,
                offers.routes, creatives.routes, messages.routes, send.routes,
                webhooks.routes]


def create_app(services: Services) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)
    app[SERVICES] = services
    for table in ROUTE_TABLES:
        app.add_routes(table)
    return app
