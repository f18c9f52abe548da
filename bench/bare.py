"""The floor for the HTTP benchmarks: a bare aiohttp app that parses what our handlers
parse and answers at once, with no database. Run in its own process:

    python -m bench.bare --port 8099
"""

from __future__ import annotations

import argparse

from aiohttp import web

routes = web.RouteTableDef()


@routes.post("/json")
async def json_post(request: web.Request) -> web.Response:
    await request.json()
    return web.json_response({"success": True}, status=201)


@routes.post("/form")
async def form_post(request: web.Request) -> web.Response:
    await request.post()
    return web.Response(text="<Response/>", content_type="text/xml")


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.add_routes(routes)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
