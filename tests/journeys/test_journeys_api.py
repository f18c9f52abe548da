"""REST /api/v2/journeys over real HTTP, and POST /api/v2/contacts enrolling."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from core.clock import FakeClock
from core.journeys.models import JourneyEnrollment
from core.messaging.models import MessageSent
from core.services import Services
from tests.contacts.helpers import LIST_NUMBER
from tests.factories import make_tenant
from tests.journeys.helpers import setup, welcome_steps


async def test_create_activate_enroll_pause_and_stats(http: TestClient, services: Services,
                                                      clock: FakeClock) -> None:
    tenant, creatives = await setup(services)
    h = tenant.headers()
    resp = await http.post("/api/v2/journeys", headers=h, json={
        "name": "Welcome", "list_number": LIST_NUMBER, "steps": welcome_steps(creatives),
        "trigger": {"operator": "and", "conditions": [
            {"field": "signup_method", "operator": "eq", "value": "api"}]}})
    assert resp.status == 201, await resp.text()
    journey = await resp.json()
    assert journey["status"] == "draft" and len(journey["steps"]) == 7
    jid = journey["id"]
    # A draft enrolls no one.
    resp = await http.post("/api/v2/contacts", headers=h, json={
        "phone_number": "+14155550101", "list_number": LIST_NUMBER})
    assert (await resp.json())["journeys_enrolled"] == []
    resp = await http.post(f"/api/v2/journeys/{jid}/activate", headers=h)
    assert resp.status == 200 and (await resp.json())["status"] == "active"
    resp = await http.post("/api/v2/contacts", headers=h, json={
        "phone_number": "+14155550102", "list_number": LIST_NUMBER})
    assert resp.status == 201
    assert (await resp.json())["journeys_enrolled"] == [jid]
    # use_journeys false, and skip_journey_if_exists for someone already in one
    resp = await http.post("/api/v2/contacts", headers=h, json={
        "phone_number": "+14155550103", "list_number": LIST_NUMBER, "use_journeys": False})
    assert (await resp.json())["journeys_enrolled"] == []
    await services.journeys.run_due()
    assert await MessageSent.filter(journey_id=jid).count() == 1
    resp = await http.post(f"/api/v2/journeys/{jid}/pause", headers=h)
    assert (await resp.json())["status"] == "paused"
    resp = await http.post("/api/v2/contacts", headers=h, json={
        "phone_number": "+14155550104", "list_number": LIST_NUMBER})
    assert (await resp.json())["journeys_enrolled"] == []
    assert await JourneyEnrollment.filter(journey_id=jid).count() == 1
    # Steps cannot change under a contact on its way.
    resp = await http.put(f"/api/v2/journeys/{jid}", headers=h,
                          json={"steps": welcome_steps(creatives)[:1]})
    assert resp.status == 409 and (await resp.json())["code"] == "journey_in_use"
    resp = await http.get(f"/api/v2/journeys/{jid}/stats", headers=h)
    stats = await resp.json()
    assert stats["steps"][0] == {"position": 0, "type": "send", "entered": 1, "sent": 1,
                                 "clicked": 0, "converted": 0, "exited": 0,
                                 "revenue": "0.0000"}
    assert stats["enrollments"]["active"] == 1
    resp = await http.get("/api/v2/journeys", headers=h)
    assert [j["id"] for j in (await resp.json())["data"]] == [jid]


async def test_bad_journeys_answer_4xx_with_a_code(http: TestClient,
                                                   services: Services) -> None:
    tenant, _ = await setup(services)
    h = tenant.headers()
    cases = [
        ({"name": "x", "list_number": LIST_NUMBER, "steps": []}, "invalid_steps"),
        ({"name": "x", "list_number": LIST_NUMBER, "steps": [
            {"position": 0, "type": "condition", "config": {"test": "clicked"}, "yes": 0,
             "no": 4}]}, "dangling_branch"),
        ({"name": "x", "list_number": LIST_NUMBER, "steps": [
            {"position": 0, "type": "wait_until", "config": {"time": "25:00"}}]},
         "invalid_steps"),
        ({"name": "x", "list_number": LIST_NUMBER, "steps": [
            {"position": 0, "type": "send", "config": {"body": "hi\u0000"}}]},
         "invalid_steps"),
        ({"name": "x", "list_number": LIST_NUMBER, "trigger": {"operator": "and",
          "conditions": [{"field": "revenue_total", "operator": "gt", "value": 3}]},
          "steps": [{"position": 0, "type": "exit"}]}, "unknown_field"),
    ]
    for body, code in cases:
        resp = await http.post("/api/v2/journeys", headers=h, json=body)
        assert resp.status == 400, (code, await resp.text())
        assert (await resp.json())["code"] == code, (code, await resp.text())
    other = await make_tenant(services, "Other", "o@other.test")
    resp = await http.post("/api/v2/journeys", headers=h, json={
        "name": "ok", "list_number": LIST_NUMBER,
        "steps": [{"position": 0, "type": "exit"}]})
    jid = (await resp.json())["id"]
    resp = await http.get(f"/api/v2/journeys/{jid}", headers=other.headers())
    assert resp.status == 404
    assert (await resp.json())["code"] == "journey_not_found"
