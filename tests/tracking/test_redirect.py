"""The redirect over real HTTP: where a short link goes, what each click leaves behind,
the cache, hosts, bot verdicts, preview mode, and a database that refuses writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from urllib.parse import parse_qs, urlsplit

from core.accounts.models import Account
from core.campaigns.models import Schedule
from core.contacts.models import ListContact
from core.journeys.models import WelcomeJourney
from core.messaging.models import MessageShortLink
from core.offers.models import Offer
from core.sql import Params, conn, fetch, ts
from core.tracking.links import click_id_for
from core.tracking.models import MessageClick, MessageShortLinkClick
from tests.factories import make_tenant
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import PHONE_UA, PREVIEW_UA, click, follow, redirect_clicks


async def _sent(services, **world):
    w = await make_world(services, **world)
    sent = await queue_with_link(w, w.subscribers[0], now=services.clock.now())
    return w, sent


async def test_a_human_click_redirects_with_macros_and_counts_once(services, http):
    world, sent = await _sent(services)
    resp = await follow(http, sent.link)
    assert resp.status == 302
    assert resp.headers["Cache-Control"] == "no-store"
    location = urlsplit(resp.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "network.example",
                                                                 "/c")
    query = parse_qs(location.query)
    assert query["m"] == [sent.public_id]
    click_id = query["aff_sub"][0]
    assert len(click_id) == 22

    await services.redirects.recorder.flush()
    counted = await MessageClick.get(message_id=sent.message_id)
    assert counted.click_id == click_id
    assert (counted.contact_id, counted.offer_id, counted.sending_list_id) == (
        sent.subscriber.contact_id, world.offer.id, world.sending_list.id)
    raw = await MessageShortLinkClick.get(short_link_id=sent.link.id)
    assert counted.raw_click_id == raw.id
    assert (raw.verdict, raw.is_bot, raw.bot_reason, raw.user_agent, raw.ip_address) == (
        "human", False, None, PHONE_UA, "127.0.0.1")
    assert raw.clicked_at == services.clock.now()

    # The same person again: answered and recorded, counted nowhere.
    again = await click(http, services, sent.link)
    assert again is not None and again.id == counted.id
    assert await MessageShortLinkClick.filter(short_link_id=sent.link.id).count() == 2
    assert await MessageClick.all().count() == 1
    lc = await ListContact.get(id=sent.subscriber.id)
    assert (lc.click_count, lc.last_clicked_at) == (1, services.clock.now())
    assert (await Offer.get(id=world.offer.id)).click_count == 1


async def test_bots_are_redirected_and_recorded_apart(services, http):
    _, sent = await _sent(services)
    assert await click(http, services, sent.link, user_agent=PREVIEW_UA) is None
    assert await click(http, services, sent.link, user_agent="curl/8.5.0") is None
    head = await follow(http, sent.link, method="HEAD")
    assert head.status == 302
    prefetch = await follow(http, sent.link, **{"Sec-Purpose": "prefetch"})
    assert prefetch.status == 302
    await services.redirects.recorder.flush()
    rows = await MessageShortLinkClick.all().order_by("id").values_list(
        "verdict", "is_bot", "bot_reason")
    assert rows == [("preview", True, "agent:imessage_preview"),
                    ("bot", True, "agent:http-library"),
                    ("scanner", True, "method:head"),
                    ("preview", True, "prefetch")]
    assert await MessageClick.all().count() == 0
    assert (await ListContact.get(id=sent.subscriber.id)).click_count == 0

    # The person after the bots is the counted click.
    counted = await click(http, services, sent.link)
    assert counted is not None
    assert (await ListContact.get(id=sent.subscriber.id)).click_count == 1


async def test_a_click_is_stored_at_its_own_time_to_the_microsecond(services, http, clock):
    _, sent = await _sent(services)
    start = clock.now()
    times = [start + dt.timedelta(hours=2, microseconds=us) for us in (0, 1, 999_999)]
    times.append(start.replace(year=1999, month=12, day=31, hour=23, minute=59, second=59,
                               microsecond=500))
    for when in times:
        clock.set(when)
        assert (await follow(http, sent.link)).status == 302
    await services.redirects.recorder.flush()
    stored = await MessageShortLinkClick.all().order_by("id").values_list(
        "clicked_at", flat=True)
    assert stored == times
    # A period's clicks are found by comparing with the time as SQL is given it (on
    # SQLite, as text): the click at the period's first microsecond is in it.
    p = Params()
    found = await fetch(
        "SELECT count(*) AS n FROM message_short_link_click WHERE clicked_at >= "
        f"{p(ts(times[0]))} AND clicked_at <= {p(ts(times[2]))}", p)
    assert found[0]["n"] == 3


async def test_schedule_and_journey_count_first_human_clicks_only(services, http):
    world = await make_world(services, subscribers=3)
    account, list_id = world.tenant.account.id, world.sending_list.id
    spring = await Schedule.create(account_id=account, name="Spring", sending_list_id=list_id)
    other = await Schedule.create(account_id=account, name="Other", sending_list_id=list_id)
    welcome = await WelcomeJourney.create(account_id=account, name="Welcome",
                                          sending_list_id=list_id)
    now = services.clock.now()
    a, b, c = world.subscribers
    in_spring = [await queue_with_link(world, sub, now=now, schedule_id=spring.id)
                 for sub in (a, b)]
    in_journey = await queue_with_link(world, c, now=now, journey_id=welcome.id)

    # A bot first: recorded, counted nowhere.
    assert await click(http, services, in_spring[0].link, user_agent=PREVIEW_UA) is None
    # Three first human clicks and a repeat, all in one batch (one flush).
    for sent in (*in_spring, in_journey, in_spring[0]):
        assert (await follow(http, sent.link)).status == 302
    await services.redirects.recorder.flush()
    # A repeat in a later batch.
    await click(http, services, in_journey.link)

    assert await MessageShortLinkClick.all().count() == 6
    assert await MessageClick.all().count() == 3
    counts = {s.name: s.click_count for s in await Schedule.all()}
    assert counts == {"Spring": 2, "Other": 0}
    assert (await WelcomeJourney.get(id=welcome.id)).click_count == 1
    assert (await Offer.get(id=world.offer.id)).click_count == 3
    assert other.click_count == 0


async def test_the_message_shows_its_links_clicks(services, http, settings, clock):
    world, sent = await _sent(services)
    headers = world.tenant.headers()

    async def links():
        resp = await http.get(f"/api/v2/messages/{sent.public_id}", headers=headers)
        assert resp.status == 200, await resp.text()
        return (await resp.json())["links"]

    unclicked = {"code": sent.link.code, "url": f"{settings.tracking_base}/{sent.link.code}",
                 "destination": world.offer.tracking_url, "offer_id": world.offer.id,
                 "clicks": 0, "human_clicks": 0, "first_human_click_at": None}
    assert await links() == [unclicked]

    await click(http, services, sent.link, user_agent=PREVIEW_UA)
    first = clock.now()
    await click(http, services, sent.link)
    clock.advance(seconds=90)
    await click(http, services, sent.link)
    assert await links() == [{**unclicked, "clicks": 3, "human_clicks": 2,
                              "first_human_click_at": first.isoformat()}]


async def _exchange(http, raw: bytes, answers: int) -> tuple[list[tuple[str, dict[str, str]]],
                                                             bool]:
    """Send raw request bytes on one connection; the status line and headers of each of
    ``answers`` bodiless answers, and whether the server then closed the connection."""
    reader, writer = await asyncio.open_connection(http.host, http.port)
    try:
        writer.write(raw)
        got = []
        for _ in range(answers):
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode()
            status, *lines = head.split("\r\n")[:-2]
            got.append((status, dict(line.split(": ", 1) for line in lines)))
        try:
            closed = await asyncio.wait_for(reader.read(1), 0.5) == b""
        except TimeoutError:
            closed = False
        return got, closed
    finally:
        writer.close()


async def test_a_cached_redirect_is_written_as_aiohttps_own_would_be(services, http):
    """A cached link's keep-alive HTTP/1.1 redirect is preformatted bytes
    (web.routes.redirect.Preformatted); it must say what aiohttp's response says, the
    same headers in the same order, pipelined requests answered in order on one
    connection. HTTP/1.0 and Connection: close take aiohttp's own response."""
    _, sent = await _sent(services)
    first = await follow(http, sent.link)  # a miss: the app answers, aiohttp's response
    request = f"GET /{sent.link.code} HTTP/1.1\r\nHost: {http.host}:{http.port}\r\n" \
              f"User-Agent: {PHONE_UA}\r\n"
    answers, closed = await _exchange(http, (request + "\r\n").encode() * 3, 3)
    assert not closed
    assert [status for status, _ in answers] == ["HTTP/1.1 302 Found"] * 3
    headers = answers[0][1]
    assert list(headers) == ["Location", "Cache-Control", "Content-Length", "Date", "Server"]
    assert headers["Location"] == first.headers["Location"]
    assert (headers["Cache-Control"], headers["Content-Length"], headers["Server"]) == (
        "no-store", "0", first.headers["Server"])
    assert dt.datetime.strptime(headers["Date"], "%a, %d %b %Y %H:%M:%S GMT")

    # aiohttp's own answers, for what the front door leaves to it: the same headers
    # (and Connection: close where the client asked to close).
    old, closed = await _exchange(
        http, request.replace("HTTP/1.1", "HTTP/1.0").encode() + b"\r\n", 1)
    assert old[0][0] == "HTTP/1.0 302 Found" and closed
    assert {k: v for k, v in old[0][1].items() if k != "Date"} == \
        {k: v for k, v in headers.items() if k != "Date"}
    last, closed = await _exchange(http, (request + "Connection: close\r\n\r\n").encode(), 1)
    assert last[0][1] == {**headers, "Date": last[0][1]["Date"], "Connection": "close"}
    assert closed

    await services.redirects.recorder.flush()
    assert await MessageShortLinkClick.filter(short_link_id=sent.link.id).count() == 6


async def test_unknown_codes_and_foreign_hosts_get_the_branded_404(services, http):
    world, sent = await _sent(services)
    for path, host in (("/zzzzzzz", None), (f"/{sent.link.code}", "evil.example"),
                       ("/" + "x" * 40, None), ("/a%00b", None), ("/a%20b", None),
                       ("/%C3%A9t%C3%A9", None)):
        resp = await http.get(path, allow_redirects=False,
                              headers={"Host": host} if host else {})
        assert resp.status == 404, path
        assert resp.content_type == "text/html"
        assert resp.headers["X-Trackly-Error"] == "link_not_found"
        assert "Link not found" in await resp.text()
    # The account's own tracking domain serves its links; another account's does not.
    await Account.filter(id=world.tenant.account.id).update(tracking_domain="go.acme.test")
    other = await make_tenant(services)
    await Account.filter(id=other.account.id).update(tracking_domain="t.other.test")
    other_link = await MessageShortLink.create(
        code="otHer23", account_id=other.account.id, created_at=services.clock.now(),
        destination_url="https://other.example/")
    services.redirects.links.forget()
    resp = await http.get(f"/{sent.link.code}", allow_redirects=False,
                          headers={"Host": "GO.acme.test"})
    assert resp.status == 302
    resp = await http.get("/otHer23", allow_redirects=False, headers={"Host": "t.other.test"})
    assert resp.headers["Location"] == "https://other.example/"
    resp = await http.get(f"/{other_link.code}", allow_redirects=False,
                          headers={"Host": "go.acme.test"})
    assert resp.status == 404
    await services.redirects.recorder.flush()
    assert await MessageShortLinkClick.all().count() == 2  # a 404 records nothing


async def test_a_cache_hit_makes_no_database_round_trip_and_changes_arrive_by_ttl(
        services, http):
    _, sent = await _sent(services)
    links = services.redirects.links
    first = await follow(http, sent.link)
    assert links.loads == 1
    for _ in range(5):
        assert (await follow(http, sent.link)).headers["Location"] == \
            first.headers["Location"]
    assert links.loads == 1  # five hits, no SELECT

    # A new destination is read once the entry is older than its TTL (5 s).
    await MessageShortLink.filter(id=sent.link.id).update(
        destination_url="https://other.example/lp?c={click_id}")
    clock = [0.0]
    links._now = lambda: clock[0]  # the cache's own monotonic time, advanced by hand
    links.forget()
    assert (await follow(http, sent.link)).headers["Location"].startswith("https://other")
    await MessageShortLink.filter(id=sent.link.id).update(
        destination_url="https://third.example/?c={click_id}")
    clock[0] = 4.0
    assert (await follow(http, sent.link)).headers["Location"].startswith("https://other")
    clock[0] = 5.5
    assert (await follow(http, sent.link)).headers["Location"].startswith("https://third")


async def test_links_in_use_are_refreshed_together_in_one_query_before_they_expire(
        services, http):
    """Every code hit past half its TTL is read again in ONE background query (not one
    per code), only codes in use are read, and no request waits for it: a change made
    meanwhile arrives, and nothing expires."""
    world = await make_world(services, subscribers=4)
    sent = [await queue_with_link(world, sub, now=services.clock.now())
            for sub in world.subscribers]
    links = services.redirects.links
    clock = [0.0]
    links._now = lambda: clock[0]
    links.forget()
    for s in sent:
        assert (await follow(http, s.link)).status == 302
    assert (links.loads, links.misses) == (4, 4)
    await MessageShortLink.filter(id__in=[s.link.id for s in sent[:2]]).update(
        destination_url="https://fresh.example/?c={click_id}")
    unchanged = links.peek(sent[2].link.code)[1]
    clock[0] = 3.0  # past the refresh point (2.5 s), before expiry (5 s)
    for s in sent[:3]:  # the fourth link is not clicked again: not read again
        assert (await follow(http, s.link)).status == 302
    assert links.misses == 4  # answered from the entries, at once
    refreshing = links._refreshing
    assert refreshing is not None
    await refreshing  # the one background refresh
    assert (links.loads, links.refresh_queries, links.refreshes) == (5, 1, 3)
    assert links.peek(sent[2].link.code)[1] is unchanged  # its row did not change: kept
    clock[0] = 6.0  # the first entries' expiry passed; the refreshed ones live on
    for s in sent[:2]:
        assert (await follow(http, s.link)).headers["Location"].startswith(
            "https://fresh.example/")
    assert (await follow(http, sent[2].link)).headers["Location"] == unchanged.destination
    assert (links.loads, links.misses) == (5, 4)
    assert (await follow(http, sent[3].link)).status == 302  # expired: read on the path
    assert (links.loads, links.misses) == (6, 5)


async def test_a_starting_process_has_the_newest_links_in_its_cache(services):
    """Links made before the server starts are read into the cache before it listens,
    in one query per REFRESH_BATCH: their first clicks wait for no SELECT."""
    world = await make_world(services, subscribers=3)
    sent = [await queue_with_link(world, sub, now=services.clock.now())
            for sub in world.subscribers]
    links = services.redirects.links
    assert await links.preload(count=1) == 1  # the newest only
    assert links.peek(sent[-1].link.code)[0] and not links.peek(sent[0].link.code)[0]
    links.forget()
    links.loads = 0
    async with redirect_clicks(services) as one:
        assert links.loads == 1  # all three links, one SELECT
        for s in sent:
            assert await one(s.link) is not None
    assert (links.loads, links.misses) == (1, 0)


async def test_the_click_id_is_the_messages_own(services, http):
    _, sent = await _sent(services)
    counted = await click(http, services, sent.link)
    assert counted is not None
    assert counted.click_id == click_id_for(services.redirects.links._key, sent.message_id)


async def test_preview_mode_shows_bots_a_page_and_continue_counts_a_human(services, http):
    world, sent = await _sent(services)
    await Account.filter(id=world.tenant.account.id).update(bot_filter_mode="preview",
                                                           brand_name="Acme")
    resp = await follow(http, sent.link, user_agent=PREVIEW_UA)
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert "Acme" in page and 'method="post"' in page and "Continue" in page
    # A phone's browser is redirected straight away in preview mode too.
    other = await queue_with_link(world, world.subscribers[1], now=services.clock.now())
    assert (await follow(http, other.link)).status == 302

    pressed = await http.post(f"/{sent.link.code}", allow_redirects=False,
                              headers={"User-Agent": PREVIEW_UA})
    assert pressed.status == 302
    assert pressed.headers["Location"].startswith("https://network.example/c?aff_sub=")
    await services.redirects.recorder.flush()
    rows = await MessageShortLinkClick.filter(short_link_id=sent.link.id).order_by(
        "id").values_list("verdict", flat=True)
    assert rows == ["preview", "human"]
    assert await MessageClick.filter(message_id=sent.message_id).count() == 1

    # The offer's mode overrides the account's.
    await Offer.filter(id=world.offer.id).update(bot_filter_mode="record")
    services.redirects.links.forget()
    assert (await follow(http, sent.link, user_agent=PREVIEW_UA)).status == 302


async def test_clicks_wait_out_a_database_that_refuses_writes(services, http):
    _, sent = await _sent(services)
    recorder = services.redirects.recorder
    await follow(http, sent.link)  # the link is cached now
    db = conn()
    # The table gone: every write fails as it would with the database down.
    await db.execute_script("ALTER TABLE message_short_link_click RENAME TO mslc_away")
    try:
        for ua in (PHONE_UA, PREVIEW_UA, PHONE_UA):
            assert (await follow(http, sent.link, user_agent=ua)).status == 302
        try:
            await recorder.flush()
        except Exception:
            pass
        else:
            raise AssertionError("the write should have failed")
        assert recorder.pending == 4  # nothing lost, nothing half-written
    finally:
        await db.execute_script("ALTER TABLE mslc_away RENAME TO message_short_link_click")
    assert await recorder.flush() == 4
    assert await MessageShortLinkClick.filter(short_link_id=sent.link.id).count() == 4
    assert await MessageClick.all().count() == 1
    assert (await ListContact.get(id=sent.subscriber.id)).click_count == 1


async def test_clicks_the_database_refuses_at_shutdown_are_spooled_and_written_next_start(
        services, http):
    _, sent = await _sent(services)
    recorder = services.redirects.recorder
    await follow(http, sent.link)
    await recorder.flush()
    db = conn()
    await db.execute_script("ALTER TABLE message_short_link_click RENAME TO mslc_away")
    try:
        for ua in (PHONE_UA, PREVIEW_UA):
            assert (await follow(http, sent.link, user_agent=ua)).status == 302
        await recorder.close(within=0.5)  # the database is "down" as the process stops
        assert recorder.pending == 0
        [spooled] = list(recorder.spool_dir.glob("clicks-*.jsonl"))
        assert len(spooled.read_text().splitlines()) == 2
    finally:
        await db.execute_script("ALTER TABLE mslc_away RENAME TO message_short_link_click")
    recorder.start()  # the next start
    assert not list(recorder.spool_dir.glob("clicks-*"))
    assert await recorder.flush() == 2
    rows = await MessageShortLinkClick.all().order_by("id").values_list("verdict", flat=True)
    assert rows == ["human", "human", "preview"]
    assert await MessageClick.all().count() == 1


async def test_a_user_agent_that_is_not_utf8_is_stored_and_holds_up_no_other_click(
        services, http):
    """HTTP lets a header carry any byte past 0x7F (Latin-1 from old clients and
    scanners); aiohttp decodes them as UTF-8 with surrogate escapes. Such a click is
    answered 302; stored as it was, PostgreSQL refused its whole batch forever (every
    later click waited behind it) and SQLite kept bytes no reader could decode."""
    _, sent = await _sent(services)
    await follow(http, sent.link)  # cached: the next ones take the front door
    request = (f"GET /{sent.link.code} HTTP/1.1\r\nHost: {http.host}:{http.port}\r\n"
               "User-Agent: Mozilla/5.0 (Linux; U; Android 4.4; ").encode() + \
        b"caf\xe9 \xff\xfe) Safari/534.30\r\n\r\n"
    answers, _ = await _exchange(http, request, 1)
    assert answers[0][0] == "HTTP/1.1 302 Found"
    assert (await follow(http, sent.link)).status == 302

    await services.redirects.recorder.flush()
    agents = await MessageShortLinkClick.filter(short_link_id=sent.link.id).order_by(
        "id").values_list("user_agent", flat=True)
    assert agents == [PHONE_UA,
                      "Mozilla/5.0 (Linux; U; Android 4.4; caf\ufffd \ufffd\ufffd) "
                      "Safari/534.30", PHONE_UA]


async def test_a_client_that_does_not_read_its_answers_is_not_answered_into_memory(
        services, http):
    """A phone on a slow network (or a client that pipelines and never reads): aiohttp
    stops answering once its unsent answers pass the transport's high-water mark, and
    then stops reading. The front door's preformatted 302s must wait the same way: they
    went on being answered (and recorded) into memory for as long as requests came."""
    _, sent = await _sent(services)
    await follow(http, sent.link)  # cached: the next ones take the front door
    recorder = services.redirects.recorder
    await recorder.flush()
    request = (f"GET /{sent.link.code} HTTP/1.1\r\nHost: {http.host}:{http.port}\r\n"
               f"User-Agent: {PHONE_UA}\r\n\r\n").encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before the handshake
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (http.host, http.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    [conn] = [c for c in http.server.runner.server.connections
              if c.transport.get_extra_info("peername") == sock.getsockname()]
    # The slow network: the kernel holds little of what the server sends.
    conn.transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    total = 5000  # about 1 MB of answers
    try:
        writer.write(request * total)
        await asyncio.sleep(1.5)  # not reading
        await recorder.flush()
        answered = await MessageShortLinkClick.filter(short_link_id=sent.link.id).count()
        assert answered < total / 2, answered

        received = b""
        while received.count(b"HTTP/1.1 302 Found\r\n") < total:
            received += await asyncio.wait_for(reader.read(1 << 16), 10)
    finally:
        writer.close()
    await recorder.flush()
    assert await MessageShortLinkClick.filter(short_link_id=sent.link.id).count() \
        == total + 1


async def test_expect_100_continue_on_a_cached_link_is_answered_as_aiohttp_does(
        services, http):
    """aiohttp answers ``Expect: 100-continue`` with an interim 100 before the handler's
    answer (and an unknown expectation with 417). The front door answered a cached
    link's 302 without it: a client that waits for the 100 before sending its body gets
    a final answer instead, and a body it sends after would be read as the next
    request. Both paths must say the same."""
    _, sent = await _sent(services)
    request = (f"GET /{sent.link.code} HTTP/1.1\r\nHost: {http.host}:{http.port}\r\n"
               f"User-Agent: {PHONE_UA}\r\nExpect: 100-continue\r\n\r\n").encode()
    miss, _ = await _exchange(http, request, 2)  # not cached yet: the app's answer
    hit, closed = await _exchange(http, request, 2)
    assert [status for status, _ in miss] == ["HTTP/1.1 100 Continue", "HTTP/1.1 302 Found"]
    assert [status for status, _ in hit] == [status for status, _ in miss]
    assert hit[1][1]["Location"] == miss[1][1]["Location"] and not closed
    unknown, _ = await _exchange(http, request.replace(b"100-continue", b"pigeons"), 1)
    assert unknown[0][0] == "HTTP/1.1 417 Expectation Failed"
    await services.redirects.recorder.flush()
    assert await MessageShortLinkClick.filter(short_link_id=sent.link.id).count() == 2


async def test_behind_a_trusted_load_balancer_the_click_is_the_phones_address(
        db, clock, settings):
    """Behind a load balancer every connection comes from the balancer: Google Cloud's
    connects from 35.191.0.0/16, a datacenter range, so every click was a scanner and
    none counted. The balancer's X-Forwarded-For names the phone; it is believed only
    from the addresses TRACKLY_TRUSTED_PROXIES lists (anyone can send the header)."""
    from aiohttp.test_utils import TestClient

    from tests.helpers import AppServer
    from trackly.bootstrap import build_services
    from web.app import create_app, server_args

    trusting = settings.model_copy(update={"trusted_proxies": "127.0.0.0/8, 35.191.0.0/16"})
    services = build_services(trusting, clock=clock, secret_key="test-secret-key-0123456789abcdef")
    _, sent = await _sent(services)
    http = TestClient(AppServer(create_app(services), **server_args()))
    await http.start_server()
    try:
        for forwarded in ("198.51.100.7, 35.191.3.4",  # the phone, then the balancer
                          "3.5.140.2",  # a scanner in a datacenter, through the balancer
                          "not an address"):
            for _ in range(2):  # the app's answer (a miss), then the front door's
                assert (await follow(http, sent.link,
                                     **{"X-Forwarded-For": forwarded})).status == 302
            services.redirects.links.forget()
    finally:
        await http.close()
    await services.redirects.recorder.flush()
    rows = await MessageShortLinkClick.all().order_by("id").values_list(
        "ip_address", "verdict", "bot_reason")
    assert rows == [("198.51.100.7", "human", None)] * 2 + [
        ("3.5.140.2", "scanner", "address:datacenter")] * 2 + [
        ("127.0.0.1", "human", None)] * 2


async def test_x_forwarded_for_from_an_untrusted_address_is_ignored(services, http):
    _, sent = await _sent(services)
    for _ in range(2):
        assert (await follow(http, sent.link, **{"X-Forwarded-For": "3.5.140.2"})).status \
            == 302
    await services.redirects.recorder.flush()
    rows = await MessageShortLinkClick.all().values_list("ip_address", "verdict")
    assert rows == [("127.0.0.1", "human")] * 2


async def test_a_long_user_agent_is_cut_to_what_the_row_keeps_before_it_is_buffered(
        services, http):
    """aiohttp reads header lines up to 32 KB; a click keeps 512 characters of its agent.
    Only those are buffered, so clicks waiting out a database outage cost little each."""
    _, sent = await _sent(services)
    agent = PHONE_UA + " x" * 3_000
    await follow(http, sent.link)  # in the cache: the next click takes the front door
    recorder = services.redirects.recorder
    await recorder.flush()
    assert (await follow(http, sent.link, user_agent=agent)).status == 302
    assert [len(c.user_agent) for c in recorder._buffer] == [512]
    await recorder.flush()
    stored = await MessageShortLinkClick.filter(short_link_id=sent.link.id).order_by("-id")
    assert stored[0].user_agent == agent[:512]
