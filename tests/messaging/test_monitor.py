from __future__ import annotations

from core.billing.gate import AccountBillingGate
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.monitor import FailureRateMonitor
from core.notifications.models import Notification
from core.providers.base import Outcome, SendOutcome
from tests.factories import make_tenant
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider, accept


async def test_failure_rate_alert_is_raised_once_and_cleared_once(services, clock):
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, 40, when=clock.now())
    failing = {s.contact.phone_number for s in subs[:15]}

    def half_bad(sms, attempt):
        if sms.to in failing:
            return SendOutcome(sms.message_id, Outcome.REJECTED, error_code="30006")
        return accept(sms, attempt)

    ex = Executor(clock=clock, providers=ScriptedProvider(half_bad), policy=services.compliance,
                  billing=AccountBillingGate(clock=clock), callback_url=lambda *_: None,
                  config=ExecutorConfig(batch_size=100))
    monitor = FailureRateMonitor(clock=clock, notifications=services.notifications)
    await queue_to(subs, lst, now=clock.now())
    await ex.drain()
    # The list's rate, and the spike of its error code (one alert, not one per failure).
    assert await monitor.check() == [f"raised failure_rate:list:{lst.id}",
                                     "raised failure_spike:simulator:30006"]
    assert await monitor.check() == []  # still failing: nothing new to say

    alert = await Notification.get(kind="failure_rate", is_resolution=False)
    assert alert.title == "Failure rate 38% on +14155550100"
    assert alert.data["failed"] == 15 and alert.data["total"] == 40

    clock.advance(minutes=16)  # the window slides past the failures
    assert await monitor.check() == [f"cleared failure_rate:list:{lst.id}",
                                     "cleared failure_spike:simulator:30006"]
    assert await monitor.check() == []
    assert await Notification.filter(kind="failure_rate").count() == 2
    assert await Notification.filter(kind="failure_spike").count() == 2
