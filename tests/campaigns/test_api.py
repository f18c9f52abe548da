"""/api/v2/audiences and /api/v2/schedules over real HTTP: the shapes of API.md, the
validation codes, roles, another account's objects as 404, and the lifecycle."""

from __future__ import annotations

from core.permissions import Role
from tests.contacts.helpers import make_list, subscribe
from tests.factories import make_tenant

FILTER = {"operator": "and",
          "conditions": [{"field": "state", "operator": "eq", "value": "CA"},
                         {"field": "custom.age", "operator": "gte", "value": 30}],
          "groups": [{"operator": "or", "conditions": [
              {"field": "last_clicked_at", "operator": "within_days", "value": 30},
              {"field": "has_revenue", "operator": "eq", "value": False}], "groups": []}]}


async def _setup(services):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    for i, age in enumerate((25, 35, "40", None)):
        fields = {"custom_fields": {"age": age}} if age is not None else {}
        await subscribe(services, tenant, f"+1415555010{i}", **fields)  # 415: California
    await subscribe(services, tenant, "+12125550100", custom_fields={"age": 50})  # New York
    return tenant, sending_list


async def test_audience_crud_size_and_preview(services, http):
    tenant, sending_list = await _setup(services)
    h = tenant.headers()
    created = await http.post("/api/v2/audiences", headers=h, json={
        "name": "Engaged in CA", "list_ids": [sending_list.id], "filter": FILTER})
    assert created.status == 201, await created.text()
    body = await created.json()
    assert body["filter"] == FILTER and body["list_ids"] == [sending_list.id]
    assert body["cached_size"] is None
    aid = body["id"]

    size = await (await http.get(f"/api/v2/audiences/{aid}/size", headers=h)).json()
    assert size["size"] == 2  # 35 and "40" in California
    preview = await (await http.get(f"/api/v2/audiences/{aid}/preview?limit=1",
                                    headers=h)).json()
    assert preview["size"] == 2 and len(preview["data"]) == 1
    assert preview["data"][0]["phone_number"] == "+14155550101"
    got = await (await http.get(f"/api/v2/audiences/{aid}", headers=h)).json()
    assert got["cached_size"] == 2 and got["cached_size_updated_at"]

    patched = await http.patch(f"/api/v2/audiences/{aid}", headers=h,
                               json={"filter": {"operator": "and", "conditions": [],
                                                "groups": []}})
    assert (await patched.json())["cached_size"] is None
    size = await (await http.get(f"/api/v2/audiences/{aid}/size", headers=h)).json()
    assert size["size"] == 5
    listed = await (await http.get("/api/v2/audiences", headers=h)).json()
    assert listed["pagination"]["total"] == 1

    refused = await http.delete(f"/api/v2/audiences/{aid}", headers=h)
    assert (refused.status, (await refused.json())["code"]) == (400, "confirm_required")
    gone = await http.delete(f"/api/v2/audiences/{aid}", headers=h, json={"confirm": True})
    assert gone.status == 200
    assert (await http.get(f"/api/v2/audiences/{aid}", headers=h)).status == 404


async def test_audience_validation_codes_roles_and_tenancy(services, http):
    tenant, sending_list = await _setup(services)
    h = tenant.headers()
    cases = [
        ({"name": "x", "list_ids": [999]}, "source_list_not_found"),
        ({"name": "x", "list_ids": [sending_list.id], "filter": {"operator": "and",
          "conditions": [{"field": "shoe_size", "operator": "eq", "value": 1}]}},
         "unknown_field"),
        ({"name": "x", "list_ids": [sending_list.id], "filter": {"operator": "and",
          "conditions": [{"field": "send_count", "operator": "contains", "value": "1"}]}},
         "invalid_operator"),
        ({"name": "x", "list_ids": [sending_list.id], "filter": {"operator": "and",
          "conditions": [{"field": "send_count", "operator": "gt", "value": "many"}]}},
         "invalid_value"),
        ({"name": "x", "list_ids": [sending_list.id], "filter": {"groups": [{"groups": [
            {"groups": [{"groups": [{"groups": [{}]}]}]}]}]}}, "too_deep"),
        ({"list_ids": [sending_list.id]}, "missing_name"),
        ({"name": "x\u0000", "list_ids": [sending_list.id]}, "invalid_name"),
    ]
    for body, code in cases:
        answer = await http.post("/api/v2/audiences", headers=h, json=body)
        assert (answer.status, (await answer.json())["code"]) == (400, code), body
    viewer = await http.post("/api/v2/audiences", headers=tenant.headers(Role.VIEWER),
                             json={"name": "x", "list_ids": [sending_list.id]})
    assert viewer.status == 403
    created = await (await http.post("/api/v2/audiences", headers=h, json={
        "name": "x", "list_ids": [sending_list.id]})).json()
    other = await make_tenant(services, "Other", "owner@other.test")
    assert (await http.get(f"/api/v2/audiences/{created['id']}",
                           headers=other.headers())).status == 404


async def test_schedule_create_launch_dry_run_and_lifecycle(services, http, clock):
    tenant, sending_list = await _setup(services)
    h = tenant.headers()
    aud = await (await http.post("/api/v2/audiences", headers=h, json={
        "name": "all", "list_ids": [sending_list.id]})).json()
    spec = {"name": "Spring blast", "list_id": sending_list.id, "audience_ids": [aud["id"]],
            "send_type": "blast", "recurrence": "one_time", "send_date": "2026-03-05",
            "send_time": "10:00", "timezone": "America/Chicago", "skip_within_hours": 24,
            "blasts": [{"message": "Hi {{first_name|there}}", "percent_audience": 50},
                       {"message": "Hello", "percent_audience": 50}]}
    created = await http.post("/api/v2/schedules", headers=h, json=spec)
    assert created.status == 201, await created.text()
    body = await created.json()
    sid = body["id"]
    assert (body["status"], body["send_time"], body["test"]) == ("draft", "10:00", None)

    dry = await http.post(f"/api/v2/schedules/{sid}/launch", headers=h,
                          json={"dry_run": True})
    numbers = await dry.json()
    assert dry.status == 200, numbers
    assert numbers["recipients"] == 5 and numbers["status"] == "draft"
    assert set(numbers["skipped"]) == {"unsubscribed", "blocked", "in_journey",
                                       "frequency_cap", "invalid"}
    # five segments inside the month's free allowance: billing prices them at nothing
    assert numbers["segments"] == 5 and numbers["estimated_cost"] == "0.0000"

    launched = await (await http.post(f"/api/v2/schedules/{sid}/launch", headers=h)).json()
    assert launched["status"] == "scheduled"
    assert launched["next_run_at"] == "2026-03-05T16:00:00+00:00"
    paused = await http.post(f"/api/v2/schedules/{sid}/pause", headers=h)
    assert (await paused.json())["status"] == "paused"
    again = await http.post(f"/api/v2/schedules/{sid}/pause", headers=h)
    assert (again.status, (await again.json())["code"]) == (409, "invalid_transition")
    put = await http.put(f"/api/v2/schedules/{sid}", headers=h, json={"name": "Renamed"})
    assert (await put.json())["name"] == "Renamed"
    resumed = await http.post(f"/api/v2/schedules/{sid}/resume", headers=h)
    assert (await resumed.json())["status"] == "scheduled"

    clock.set(clock.now().replace(day=5, hour=16, minute=1))
    await services.schedules.dispatch_due()
    got = await (await http.get(f"/api/v2/schedules/{sid}", headers=h)).json()
    assert got["status"] == "completed"
    [run] = got["runs"]
    assert run["launched_by"] == "scheduler" and run["recipients"] == 5
    assert run["counts"]["queued"] == 5
    assert [e["action"] for e in got["history"]] == [
        "create", "launch", "pause", "update", "resume", "run_finished"]
    done = await http.put(f"/api/v2/schedules/{sid}", headers=h, json={"name": "Again"})
    assert (done.status, (await done.json())["code"]) == (409, "schedule_complete")


async def test_schedule_validation_over_http(services, http):
    tenant, sending_list = await _setup(services)
    h = tenant.headers()
    aud = await (await http.post("/api/v2/audiences", headers=h, json={
        "name": "all", "list_ids": [sending_list.id]})).json()
    base = {"name": "S", "list_id": sending_list.id, "audience_ids": [aud["id"]],
            "send_date": "2026-03-05", "send_time": "10:00",
            "blasts": [{"message": "Hi", "percent_audience": 100}]}
    for change, code in (({"send_type": "spam"}, "invalid_send_type"),
                         ({"blasts": [{"message": "Hi", "percent_audience": 90}]},
                          "invalid_blast_percent"),
                         ({"send_time": "25:00"}, "invalid_send_time"),
                         ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
                         ({"audience_ids": []}, "missing_audiences"),
                         ({"blasts": "x"}, "invalid_blasts"),
                         ({"bogus": 1}, "unknown_field")):
        answer = await http.post("/api/v2/schedules", headers=h, json={**base, **change})
        assert (answer.status, (await answer.json())["code"]) == (400, code), change
    sid = (await (await http.post("/api/v2/schedules", headers=h, json=base)).json())["id"]
    viewer = await http.post(f"/api/v2/schedules/{sid}/launch",
                             headers=tenant.headers(Role.VIEWER))
    assert viewer.status == 403
    cancel = await http.post(f"/api/v2/schedules/{sid}/cancel", headers=h)
    assert (await cancel.json())["code"] == "confirm_required"
    cancelled = await http.post(f"/api/v2/schedules/{sid}/cancel", headers=h,
                                json={"confirm": True})
    assert (await cancelled.json())["status"] == "cancelled"


async def test_launching_now_over_http_answers_at_once_and_the_tick_queues(services, http):
    tenant, sending_list = await _setup(services)
    h = tenant.headers()
    aud = await (await http.post("/api/v2/audiences", headers=h, json={
        "name": "all", "list_ids": [sending_list.id]})).json()
    sid = (await (await http.post("/api/v2/schedules", headers=h, json={
        "name": "Now", "list_id": sending_list.id, "audience_ids": [aud["id"]],
        "send_date": "2026-03-05", "send_time": "10:00",
        "blasts": [{"message": "Hi", "percent_audience": 100}]})).json())["id"]
    answer = await (await http.post(f"/api/v2/schedules/{sid}/launch", headers=h,
                                    json={"now": True})).json()
    assert (answer["status"], answer["recipients"]) == ("sending", 5)
    run = (await (await http.get(f"/api/v2/schedules/{sid}", headers=h)).json())["runs"][0]
    assert run["progress"] == {"queued": 0, "of": 5}
    assert await services.schedules.resume_runs() == 1  # the scheduler's next tick
    got = await (await http.get(f"/api/v2/schedules/{sid}", headers=h)).json()
    assert got["status"] == "completed"
    assert got["runs"][0]["progress"] == {"queued": 5, "of": 5}
