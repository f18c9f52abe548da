"""Every reply is stored with the rule that decided what it meant, and the API shows it;
replies not read as an opt-out that hold an opt-out word go on a review list (and raise a
Low alert) until a person decides."""

from __future__ import annotations

from core.messaging.models import MessageSent, MessageStatus
from core.notifications.models import Notification, Severity
from core.permissions import Role
from tests.inbound.helpers import ALICE, subscribe, subscription
from tests.messaging.stack import LIST_NUMBER, Stack, stack

BOB = "+12125550102"


async def _get(s: Stack, path: str, role: Role = Role.OWNER) -> tuple[int, dict]:
    resp = await s.client.get(path, headers=s.tenant.headers(role))
    return resp.status, await resp.json()


async def _review(s: Stack, reply_id: int, decision: str, role: Role = Role.MEMBER
                  ) -> tuple[int, dict]:
    resp = await s.client.post(f"/api/v2/inbound/{reply_id}/review",
                               headers=s.tenant.headers(role), json={"decision": decision})
    return resp.status, await resp.json()


async def test_the_deciding_rule_is_stored_and_shown(db, clock, tmp_path):
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        await subscribe(s, ALICE)
        await subscribe(s, BOB)
        assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "STOP") == 200
        assert await s.fake.send_inbound(BOB, LIST_NUMBER, "Liked \u201cReply STOP to "
                                                          "opt out\u201d") == 200
        status, page = await _get(s, "/api/v2/inbound", Role.VIEWER)
        assert status == 200
        by_sender = {r["from"]: r for r in page["data"]}
        assert by_sender[ALICE]["intent"] == "opt_out"
        assert by_sender[ALICE]["rule"] == "exact:stop"
        assert by_sender[ALICE]["action"] == "unsubscribed"
        assert by_sender[BOB]["intent"] == "none"
        assert by_sender[BOB]["rule"].startswith(("tapback", "reaction"))
        assert by_sender[BOB]["needs_review"] is False  # reactions never go to review
        status, one = await _get(s, f"/api/v2/inbound/{by_sender[ALICE]['id']}")
        assert status == 200 and one["rule"] == "exact:stop"
        status, _ = await _get(s, "/api/v2/inbound/999999")
        assert status == 404


async def test_a_flagged_reply_is_reviewed_once_and_an_opt_out_then_holds(db, clock,
                                                                          tmp_path):
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        await subscribe(s, ALICE)
        queued = await s.send(ALICE, "Deals today")
        assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "please never stop these") == 200
        assert await subscription(ALICE) == "active"
        status, review = await _get(s, "/api/v2/inbound?needs_review=true")
        assert status == 200 and review["pagination"]["total"] == 1
        flagged = review["data"][0]
        assert flagged["intent"] == "none" and flagged["needs_review"] is True
        assert flagged["set_aside"].startswith("negation:")
        alert = await Notification.get(kind="opt_out_review")
        assert alert.severity == Severity.LOW and str(flagged["id"]) in str(alert.data)

        assert (await _review(s, flagged["id"], "opt_out", Role.VIEWER))[0] == 403
        status, decided = await _review(s, flagged["id"], "opt_out")
        assert status == 200, decided
        assert decided["review_decision"] == "opt_out" and decided["reviewed_at"]
        assert await subscription(ALICE) == "unsubscribed"
        message = await MessageSent.get(public_id=queued["message_id"])
        assert message.status == MessageStatus.DROPPED
        assert message.status_detail == "unsubscribed"
        status, again = await _review(s, flagged["id"], "keep")
        assert status == 409 and again["code"] == "already_reviewed"
        status, review = await _get(s, "/api/v2/inbound?needs_review=true")
        assert review["pagination"]["total"] == 0


async def test_keep_leaves_the_person_subscribed(db, clock, tmp_path):
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        await subscribe(s, ALICE)
        assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "don't stop the deals!") == 200
        _, review = await _get(s, "/api/v2/inbound?needs_review=true")
        status, decided = await _review(s, review["data"][0]["id"], "keep")
        assert status == 200 and decided["review_decision"] == "keep"
        assert await subscription(ALICE) == "active"
        status, bad = await _review(s, review["data"][0]["id"], "maybe")
        assert status == 400 and bad["code"] == "invalid_decision"
