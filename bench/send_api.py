"""How fast ``POST /api/v2/send`` and ``/send/bulk`` answer, from outside.

``trackly run --role web`` in its own process on a scratch PostgreSQL database, wrk as
the client (one recipient and one Idempotency-Key per request, written by a Lua script),
and in the same run, interleaved, the bare aiohttp JSON POST of :mod:`bench.bare`: the
floor. Prints requests (or messages) a second, latency percentiles, the server's peak
memory and the ratio to the bare handler.

    python -m bench.send_api [--seconds 5] [--connections 32]

Goals (issue 11): /send >= 0.1x the bare POST with p99 <= 50 ms at 32 connections;
/send/bulk >= 30,000 messages a second.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets

from bench.cpu import CpuMeter, database_of
from bench.harness import scratch_database
from bench.load import Run, bare_server, peak_mb, print_runs, trackly_web, wrk
from core.clock import SystemClock
from core.contacts.models import Provider, SendingList
from core.permissions import Actor, Role
from core.settings import Settings
from trackly.bootstrap import build_services

LIST_NUMBER = "+14155550100"
BODY = "Acme: spring deals are live, half off today only."

_COMMON = """
n = 0
function setup(thread)
  threads = (threads or 0) + 1
  thread:set("tid", threads)
end
"""

SEND = _COMMON + """
function request()
  n = n + 1
  local id = (tid or 0) * 1000000 + n
  local body = string.format(
    '{"to":"+1212%%07d","body":"%(body)s","list_number":"%(list)s"}', 2000000 + id)
  return wrk.format("POST", "/api/v2/send", {
    ["Content-Type"] = "application/json", ["X-Api-Key"] = "%(key)s",
    ["Idempotency-Key"] = string.format("%(run)s-%%d", id)}, body)
end
"""

BULK = _COMMON + """
function request()
  n = n + 1
  local items = {}
  for i = 1, %(size)d do
    local id = ((tid or 0) * 1000 + n) * %(size)d + i
    items[i] = string.format('{"to":"+1646%%07d","body":"%(body)s"}', 2000000 + id %% 7000000)
  end
  local body = '{"list_number":"%(list)s","messages":[' .. table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/api/v2/send/bulk", {
    ["Content-Type"] = "application/json", ["X-Api-Key"] = "%(key)s"}, body)
end
"""

BARE = """
function request()
  return wrk.format("POST", "/json", {["Content-Type"] = "application/json"},
    '{"to":"+12125550101","body":"%(body)s","list_number":"%(list)s"}')
end
"""


async def seed(url: str) -> str:
    """An account, its owner's API key and a simulator list; returns the raw key."""
    services = build_services(Settings(database_url=url, secret_key="x" * 32),
                              clock=SystemClock(), secret_key="x" * 32)
    account = await services.accounts.create_account("Bench", "bench@acme.test")
    _, raw = await services.accounts.create_api_key(Actor.system(account.id),
                                                    role=Role.OWNER, name="bench")
    await SendingList.create(account_id=account.id, phone_number=LIST_NUMBER,
                             provider=Provider.SIMULATOR, brand_name="Acme",
                             webhook_token=secrets.token_urlsafe(16),
                             rate_limit_per_minute=100_000_000)
    return raw


async def main(seconds: float, connections: int, bulk_connections: int, size: int) -> None:
    runs: list[Run] = []
    fill = {"body": BODY, "list": LIST_NUMBER}
    async with scratch_database("postgres") as url:
        key = await seed(url)
        with bare_server() as (bare, bare_proc), trackly_web(url) as (web, proc):
            floor_cpu = CpuMeter([bare_proc.pid], database_of(url))
            web_cpu = CpuMeter([proc.pid], database_of(url))
            wrk(web + "/api/v2/send", SEND % {**fill, "key": key, "run": "warm"},
                connections=connections, seconds=1, case="warm-up")
            floors = []
            for round_ in range(2):  # interleaved: bare, send, bare, send
                floor = wrk(bare + "/json", BARE % fill, connections=connections,
                            seconds=seconds, case=f"bare JSON POST ({connections} conn)",
                            meter=floor_cpu)
                floors.append(floor.rate)
                runs.append(floor)
                run = wrk(web + "/api/v2/send",
                          SEND % {**fill, "key": key, "run": f"r{round_}"},
                          connections=connections, seconds=seconds,
                          case=f"POST /send + Idempotency-Key ({connections} conn)",
                          meter=web_cpu)
                run.base_rate = floor.rate
                runs.append(run)
            bulk = wrk(web + "/api/v2/send/bulk", BULK % {**fill, "key": key, "size": size},
                       connections=bulk_connections, seconds=seconds,
                       case=f"POST /send/bulk x{size} ({bulk_connections} conn)",
                       meter=web_cpu)
            runs.append(Run(f"  = messages/s of /send/bulk x{size}", bulk.requests * size,
                            bulk.seconds, bulk.rate * size, bulk.p50, bulk.p90, bulk.p99,
                            bulk.errors,
                            server_us=(bulk.server_us or 0) / size,
                            postgres_us=(bulk.postgres_us or 0) / size, busy=bulk.busy))
            runs.insert(len(runs) - 1, bulk)
            runs[-1].peak_mb = peak_mb(proc)
    print_runs("POST /send on PostgreSQL: trackly run --role web vs a bare aiohttp POST, "
               "wrk, same run", runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bulk-connections", type=int, default=4)
    parser.add_argument("--bulk-size", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections, args.bulk_connections, args.bulk_size))
