from core.notifications.models import Notification, Severity
from core.notifications.service import NotificationService
from tests.factories import make_tenant


async def test_alert_is_raised_once_and_cleared_once(services, clock):
    tenant = await make_tenant(services)
    notes = NotificationService(clock=clock)
    key = "failure_rate:list:1"
    args = {"kind": "failure_rate", "severity": Severity.HIGH, "title": "Failures up"}
    first = await notes.raise_alert(tenant.account.id, dedup_key=key, **args)
    assert first is not None and not first.is_resolution
    assert await notes.raise_alert(tenant.account.id, dedup_key=key, **args) is None
    assert await notes.is_open(tenant.account.id, key)

    cleared = await notes.clear_alert(tenant.account.id, dedup_key=key, **args)
    assert cleared is not None and cleared.is_resolution
    assert await notes.clear_alert(tenant.account.id, dedup_key=key, **args) is None

    again = await notes.raise_alert(tenant.account.id, dedup_key=key, **args)
    assert again is not None
    rows = await Notification.filter(account_id=tenant.account.id).order_by("id")
    assert [(r.is_resolution) for r in rows] == [False, True, False]


async def test_notices_always_go_out(services, clock):
    tenant = await make_tenant(services)
    notes = NotificationService(clock=clock)
    for _ in range(2):
        await notes.notify(tenant.account.id, kind="opt_out", severity=Severity.LOW,
                           title="+1415... opted out")
    assert await Notification.filter(kind="opt_out").count() == 2
