"""How fast provider delivery receipts are taken, from outside.

``trackly run --role web`` in its own process on a scratch PostgreSQL database holding
messages sent through Infobip and Twilio; wrk posts each one's receipt as the provider
would (Infobip's JSON report; Twilio's form, signed with the list's auth token by the
SDK's own validator), and in the same run, interleaved, the bare aiohttp JSON and form
handlers of :mod:`bench.bare` are the floor. Every receipt is for a distinct message
until the seeded messages run out; later requests repeat a receipt already applied (its
UPDATE moves no row and writes no WAL, so they are cheaper) and the bench says how many
there were: a case that ran out is not comparable with one that did not.

    python -m bench.webhooks [--seconds 5] [--connections 64] [--messages 24000]

Measured (2-core machine shared with other jobs, 15:07-15:26, four runs each of d396cd4
and 2203042 alternated, --seconds 4): CPU per receipt did not change. Infobip: server
156-183 us (old) vs 151-172 us (new), PostgreSQL 78-81 vs 73-79 us; Twilio: 185-218 vs
194-221 us, 75-87 vs 69-89 us. req/s swung with the neighbours far more than between the
trees (Twilio on the same tree: 1,637 to 3,638/s). With 12,000 messages a run faster
than 2,400/s at 5 s went past them: the 09:20 report's Infobip run (15,751 requests)
repeated 3,751 receipts, the 12:41 one 1,319, hence the default of 24,000.

Goal (issue 11): >= 0.3x the bare handler, p99 <= 25 ms at 64 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.cpu import CpuMeter, database_of
from bench.harness import scratch_database
from bench.load import SECRET, Run, bare_server, free_port, print_runs, trackly_web, wrk
from core.clock import SystemClock
from core.contacts.lists import ListChanges
from core.contacts.models import Contact
from core.messaging.outbox import NewMessage, enqueue
from core.permissions import Actor
from core.settings import Settings
from core.sql import Params, execute, fetch
from trackly.bootstrap import build_services

INFOBIP_NUMBER = "+14155550101"
TWILIO_NUMBER = "+14155550102"
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "f" * 32
TO = "+12125550199"

_ROTATE = """
n = 0
function setup(thread)
  threads = (threads or 0) + 1
  thread:set("tid", threads)
end
function request()
  local i = ((tid or 1) - 1) + n * 2
  n = n + 1
  local r = reqs[(i %% #reqs) + 1]
  return wrk.format("POST", r[1], {["Content-Type"] = "%(ctype)s"%(sig)s}, r[2])
end
reqs = {
%(rows)s
}
"""


def _lua(text: str) -> str:
    return "[==[" + text + "]==]"


async def seed(url: str, count: int, base: str) -> tuple[list[tuple[str, str]],
                                                         list[tuple[str, str, str]]]:
    """Sent messages on an Infobip and a Twilio list; the receipts a provider would post
    for them: Infobip (path, JSON body), Twilio (path, form body, signature)."""
    services = build_services(Settings(database_url=url, secret_key=SECRET, public_url=base),
                              clock=SystemClock(), secret_key=SECRET)
    account = await services.accounts.create_account("Bench", "bench@acme.test")
    owner = Actor.system(account.id)
    infobip = await services.lists.create_list(owner, ListChanges(
        phone_number=INFOBIP_NUMBER, provider="infobip", brand_name="Acme",
        credentials={"api_key": "k" * 32}))
    twilio = await services.lists.create_list(owner, ListChanges(
        phone_number=TWILIO_NUMBER, provider="twilio", brand_name="Acme",
        credentials={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}))
    contact = await Contact.create(phone_number=TO, line_type="cell")
    now = services.clock.now()
    messages = []
    for lst, prefix in ((infobip, "ib"), (twilio, "tw")):
        messages += [NewMessage(
            account_id=account.id, sending_list_id=lst.id, contact_id=contact.id,
            to_number=TO, from_number=lst.phone_number, body="Deals today", segments=1,
            encoding="GSM-7", price=Decimal("0.0075"), provider=lst.provider,
            public_id=f"{prefix}{i:06d}") for i in range(count)]
    await enqueue(messages, now=now)
    p = Params()
    await execute("UPDATE message_sent SET status = 'sent', sent_at = "
                  f"{p(now)}, provider_message_id = 'SM' || public_id", p)
    await execute("VACUUM ANALYZE message_sent", Params())
    path = f"/api/webhook-feedbacks/infobip?account={account.id}&token={infobip.webhook_token}"
    done = now.isoformat(timespec="milliseconds").replace("+00:00", "+0000")
    infobip_reqs = [(path, json.dumps({"results": [{
        "bulkId": "", "price": {"pricePerMessage": 0.0075, "currency": "EUR"},
        "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5,
                   "name": "DELIVERED_TO_HANDSET", "description": "Message delivered"},
        "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR",
                  "description": "No Error", "permanent": False},
        "messageId": f"ib{i:06d}", "to": TO.lstrip("+"), "sender": INFOBIP_NUMBER,
        "sentAt": done, "doneAt": done, "messageCount": 1}]}))
        for i in range(count)]
    validator = RequestValidator(AUTH_TOKEN)
    twilio_reqs = []
    for i in range(count):
        path = f"/api/webhook-feedbacks/twilio?account={account.id}&message_id=tw{i:06d}"
        params = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01",
                  "From": TWILIO_NUMBER, "To": TO, "MessageSid": f"SMtw{i:06d}",
                  "SmsSid": f"SMtw{i:06d}", "MessageStatus": "delivered",
                  "SmsStatus": "delivered"}
        twilio_reqs.append((path, urlencode(params),
                            validator.compute_signature(base + path, params)))
    return infobip_reqs, twilio_reqs


def infobip_script(reqs: list[tuple[str, str]]) -> str:
    rows = ",\n".join(f"{{{_lua(p)}, {_lua(b)}}}" for p, b in reqs)
    return _ROTATE % {"ctype": "application/json", "sig": "", "rows": rows}


def twilio_script(reqs: list[tuple[str, str, str]]) -> str:
    rows = ",\n".join(f"{{{_lua(p)}, {_lua(b)}, {_lua(s)}}}" for p, b, s in reqs)
    return _ROTATE % {"ctype": "application/x-www-form-urlencoded",
                      "sig": ', ["X-Twilio-Signature"] = r[3]', "rows": rows}


def bare_script(reqs: list[tuple[str, ...]], path: str, ctype: str) -> str:
    rows = ",\n".join(f"{{{_lua(path)}, {_lua(r[1])}}}" for r in reqs[:200])
    return _ROTATE % {"ctype": ctype, "sig": "", "rows": rows}


async def main(seconds: float, connections: int, count: int) -> None:
    runs: list[Run] = []
    port = free_port()
    async with scratch_database("postgres") as url:
        base = f"http://127.0.0.1:{port}"
        infobip_reqs, twilio_reqs = await seed(url, count, base)
        with bare_server() as (bare, bare_proc), trackly_web(url, port) as (web, proc):
            assert web == base
            floor_cpu = CpuMeter([bare_proc.pid], database_of(url))
            web_cpu = CpuMeter([proc.pid], database_of(url))
            cases = [
                ("Infobip delivery receipt", infobip_script(infobip_reqs),
                 bare_script(infobip_reqs, "/json", "application/json"), "/json",
                 "bare JSON handler"),
                ("Twilio delivery receipt (signed)", twilio_script(twilio_reqs),
                 bare_script(twilio_reqs, "/form", "application/x-www-form-urlencoded"),
                 "/form", "bare form handler"),
            ]
            for name, script, floor_script, floor_path, floor_name in cases:
                before = wrk(bare + floor_path, floor_script, connections=connections,
                             seconds=seconds, case=f"{floor_name} ({connections} conn)",
                             meter=floor_cpu)
                run = wrk(web + "/", script, connections=connections, seconds=seconds,
                          case=f"{name} ({connections} conn)", meter=web_cpu)
                after = wrk(bare + floor_path, floor_script, connections=connections,
                            seconds=seconds, case=f"{floor_name} ({connections} conn)",
                            meter=floor_cpu)
                run.base_rate = (before.rate + after.rate) / 2
                runs += [before, run, after]
        moved = await fetch("SELECT provider, count(*) AS n FROM message_sent "
                            "WHERE status = 'delivered' GROUP BY provider", Params())
    print("\nmessages moved to delivered (each request answered 200 after its commit): "
          + ", ".join(f"{r['provider']} {r['n']}" for r in moved))
    repeated = [f"{r.case}: {r.requests - count}" for r in runs
                if r.base_rate is not None and r.requests > count]
    print("requests that repeated a receipt (the seeded messages ran out; raise --messages): "
          + (", ".join(repeated) if repeated else "none"))
    print_runs("Provider receipts on PostgreSQL: trackly run --role web vs bare aiohttp "
               "handlers, wrk, same run (floor: mean of the bare runs around each case)",
               runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--messages", type=int, default=24000)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections, args.messages))
