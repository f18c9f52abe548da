"""The hourly TUNE sync against a fake TUNE network API that speaks TUNE's wire format:
seven days back, dates in the network's timezone, tune_event_id preferred to the
deprecated id, postbacks not counted twice, other traffic ignored, errors kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient

from core.offers.models import TuneConnection
from core.permissions import Role
from core.settings import Settings
from core.tracking.conversions_tune import TuneSync
from core.tracking.models import Conversion
from tests.conftest import TEST_SECRET
from tests.fakes.tune_fake import TuneFake
from tests.helpers import AppServer
from tests.tracking.builders import make_world, queue_with_link
from tests.tracking.helpers import click as click_link
from trackly.bootstrap import build_services
from web.app import create_app, server_args

CHICAGO = "America/Chicago"


@pytest.fixture
async def tune():
    fake = await TuneFake(network_id="acme", timezone=CHICAGO).start()
    yield fake
    await fake.close()


@pytest.fixture
async def world_and_services(db, clock, tmp_path, tune):
    clock.set(dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC))  # 09:00 in Chicago
    settings = Settings(database_url="sqlite://:memory:", secret_key=TEST_SECRET,
                        public_url="http://127.0.0.1:8080", data_dir=tmp_path,
                        tune_api_url=tune.url)
    services = build_services(settings, clock=clock, secret_key=TEST_SECRET)
    world = await make_world(services, subscribers=3, window_days=7)
    return world, services


async def _click(services, world, index: int, at: dt.datetime):
    """A message sent at ``at`` and a person's click on it at ``at`` (a real request to
    the redirect); the clock goes back to where it was."""
    before = services.clock.now()
    services.clock.set(at)
    try:
        sent = await queue_with_link(world, world.subscribers[index], now=at)
        async with TestClient(AppServer(create_app(services), **server_args())) as http:
            return await click_link(http, services, sent.link)
    finally:
        services.clock.set(before)


async def test_sync_records_each_conversion_once_in_utc(world_and_services, tune):
    world, services = world_and_services
    async with TestClient(AppServer(create_app(services), **server_args())) as http:
        await _sync_once(world, services, tune, http)


async def _sync_once(world, services, tune, http):
    headers = world.tenant.headers()
    resp = await http.put("/api/v2/networks/tune", headers=world.tenant.headers(Role.MEMBER),
                          json={"network_id": "acme", "api_key": tune.token})
    assert resp.status == 403
    resp = await http.put("/api/v2/networks/tune", headers=headers, json={
        "network_id": "acme", "api_key": tune.token, "timezone": CHICAGO})
    assert resp.status == 200, await resp.text()
    assert "api_key" not in await resp.json()
    assert tune.token not in (await TuneConnection.get()).api_key_sealed

    k1 = await _click(services, world, 0, dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC))
    k2 = await _click(services, world, 1, dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC))
    # 21:30 in Chicago on March 2nd is 03:30 UTC on March 3rd.
    first = tune.add(k1.click_id, payout="10.00",
                     at=dt.datetime(2026, 3, 3, 3, 30, tzinfo=dt.UTC))
    # This one came by postback first (its {transaction_id} is TUNE's ad_id).
    resp = await http.get(f"/api/postbacks/tune?click_id={k2.click_id}&payout=20"
                          "&conversion_id=TX2")
    assert resp.status == 201
    tune.add(k2.click_id, payout="20.00", ad_id="TX2",
             at=dt.datetime(2026, 3, 3, 4, 0, tzinfo=dt.UTC))
    tune.add("someone-elses-click", payout="99.00",
             at=dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC))
    tune.add(k1.click_id, payout="5.00", status="rejected",
             at=dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC))
    tune.add(k1.click_id, payout="7.00",  # nine days ago: past the lookback
             at=dt.datetime(2026, 2, 23, 12, 0, tzinfo=dt.UTC))

    resp = await http.post("/api/v2/networks/tune/sync", headers=headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"fetched": 3, "recorded": 1, "duplicates": 1,
                                 "not_ours": 1, "error": None}
    synced = await Conversion.get(source="tune_sync")
    assert synced.txn_id == first.tune_event_id  # not the deprecated Stat.id
    assert synced.occurred_at == dt.datetime(2026, 3, 3, 3, 30, tzinfo=dt.UTC)
    assert synced.revenue == Decimal(10) and synced.click_id == k1.id
    assert await Conversion.filter(attributed=True).count() == 2  # the postback and it

    # The request TUNE got: its report, its fields, and dates in the network's zone.
    query = tune.requests[-1]
    assert ("Target", "Report") in query and ("Method", "getConversions") in query
    assert ("fields[]", "Stat.tune_event_id") in query
    assert [v for k, v in query if k == "filters[Stat.date][values][]"] == [
        "2026-02-25", "2026-03-04"]

    # Every hour it sees the same week again: nothing new is counted.
    assert [r.recorded for r in await services.tune.sync_all()] == [0]
    assert await Conversion.all().count() == 2
    connection = await (await http.get("/api/v2/networks/tune", headers=headers)).json()
    assert connection["last_synced_at"] == "2026-03-04T15:00:00+00:00"
    assert connection["last_error"] is None


async def test_pages_and_the_deprecated_id_of_an_old_network(world_and_services, tune):
    world, services = world_and_services
    tune.send_event_ids = False
    await services.tune.connect(world.tenant.owner, network_id="acme", api_key=tune.token,
                                timezone=CHICAGO)
    at = dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC)
    added = []
    for index in range(3):
        click = await _click(services, world, index, at)
        added.append(tune.add(click.click_id, payout=f"{index + 1}.00",
                              at=at + dt.timedelta(hours=1)))
    small_pages = TuneSync(clock=services.clock, box=services.box,
                           conversions=services.conversions, api_url=tune.url, page_size=2)
    [result] = await small_pages.sync_all()
    assert (result.fetched, result.recorded) == (3, 3)
    assert [v for q in tune.requests for k, v in q if k == "page"] == ["1", "2"]
    assert sorted(await Conversion.all().values_list("txn_id", flat=True)) == sorted(
        c.stat_id for c in added)


async def test_a_refused_token_is_kept_as_the_error_and_records_nothing(world_and_services,
                                                                        tune):
    world, services = world_and_services
    await services.tune.connect(world.tenant.owner, network_id="acme", api_key="wrong")
    [result] = await services.tune.sync_all()
    assert result.error == "TUNE refused the request: Invalid NetworkToken"
    connection = await TuneConnection.get()
    assert connection.last_error == result.error and connection.last_synced_at is None
    assert await Conversion.all().count() == 0
