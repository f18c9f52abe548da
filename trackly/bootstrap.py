"""Composition root: settings, clock, secrets and services, built once and handed to
the faces. Nothing here opens a connection at import time."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from core.accounts.discord_links import DiscordLinkService
from core.accounts.discord_servers import DiscordServerService
from core.accounts.service import AccountService
from core.accounts.team import TeamService
from core.audiences.service import AudienceService
from core.audit.service import AuditLog
from core.billing.gate import AccountBillingGate
from core.billing.models import Gateway
from core.billing.payments import ManualGateway, PaymentGateway, StripeGateway
from core.billing.service import BillingService
from core.campaigns.service import ScheduleService
from core.clock import Clock, SystemClock
from core.compliance.service import ComplianceService
from core.contacts.import_jobs import ImportService
from core.contacts.lists import SendingListService
from core.contacts.service import ContactService
from core.creatives.service import CreativeService
from core.crypto import SecretBox
from core.inbound.callbacks import ProviderCallbacks
from core.inbound.replies import InboundReplies
from core.inbound.service import InboundService
from core.inbound.verify import ListSecrets
from core.journeys.service import JourneyService
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.monitor import FailureRateMonitor
from core.messaging.queries import drop_queued_for_contact
from core.messaging.send import SendService
from core.messaging.service import MessageService
from core.notifications.delivery import AlertDelivery
from core.notifications.preferences import AlertPreferences
from core.notifications.service import NotificationService
from core.offers.service import OfferService
from core.providers.registry import ProviderRegistry
from core.redaction import RedactApiKeys
from core.reports.daily import DailySummaries
from core.reports.service import ReportService
from core.selection.service import SelectionService
from core.services import Services
from core.settings import Settings, proxy_networks, resolve_secret_key
from core.support.service import SupportService
from core.system.idempotency import IdempotencyService
from core.system.service import SystemService
from core.tracking.addresses import AddressBook
from core.tracking.agents import AgentClassifier
from core.tracking.conversions import ConversionService
from core.tracking.conversions_tune import TuneSync
from core.tracking.detection import Detector
from core.tracking.forwarded import ClientAddress
from core.tracking.links import LinkCache, click_key
from core.tracking.recorder import ClickRecorder
from core.tracking.redirect import RedirectService
from core.webhooks.delivery import WebhookDispatcher
from core.webhooks.emitter import WebhookEmitter
from core.webhooks.service import WebhookService
from web.routes.callbacks import callback_url


def build_services(settings: Settings, *, clock: Clock | None = None,
                   secret_key: str | None = None) -> Services:
    clock = clock or SystemClock()
    secret = secret_key or resolve_secret_key(settings)
    box = SecretBox(secret)
    audit = AuditLog(clock=clock)
    accounts = AccountService(clock=clock, audit=audit)
    notifications = NotificationService(clock=clock)
    gateways: dict[Gateway, PaymentGateway] = {Gateway.MANUAL: ManualGateway()}
    webhook_secret = settings.stripe_webhook_secret
    if settings.stripe_api_key is not None and webhook_secret is not None:
        gateways[Gateway.STRIPE] = StripeGateway(
            api_key=settings.stripe_api_key.get_secret_value(),
            webhook_secret=webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base)
    discord_servers = DiscordServerService(clock=clock)
    reports = ReportService(clock=clock, audit=audit)
    # Outbound webhooks' events come from lower domains through core.events' port.
    events = WebhookEmitter(clock=clock)
    conversions = ConversionService(clock=clock, events=events)
    lists = SendingListService(clock=clock, box=box, audit=audit,
                               default_provider=settings.default_provider)
    # Contacts and compliance drop queued messages (an unsubscribe, a block) through a
    # port: they sit below messaging, which owns the message rows.
    # New subscriptions enter journeys through a port too: journeys sit above contacts.
    selection = SelectionService(clock=clock)
    journeys = JourneyService(clock=clock, settings=settings, lists=lists,
                              selection=selection)
    contacts = ContactService(clock=clock, lists=lists, drop_queued=drop_queued_for_contact,
                              enroll=journeys.enroll_new)
    compliance = ComplianceService(clock=clock, lists=lists,
                                   drop_queued=drop_queued_for_contact)
    messages = MessageService(clock=clock, lists=lists, events=events,
                              tracking_base=settings.tracking_base)
    providers = ProviderRegistry(settings=settings, box=box, clock=clock)
    inbound = InboundService(clock=clock, contacts=contacts, lists=lists,
                             notifications=notifications, events=events)
    callbacks = ProviderCallbacks(messages=messages, inbound=inbound,
                                  secrets=ListSecrets(clock=clock, box=box))
    # Simulator receipts and replies take the same road as a provider's callbacks.
    providers.bind(on_receipt=callbacks.simulator_receipt, on_inbound=inbound.receive)
    audiences = AudienceService(clock=clock)
    billing = BillingService(
        clock=clock, notifications=notifications, audit=audit, gateways=gateways,
        stripe_webhook_secret=(webhook_secret.get_secret_value()
                               if webhook_secret is not None else None))
    schedules = ScheduleService(
        clock=clock, settings=settings, audiences=audiences, billing=billing, audit=audit,
        grace=dt.timedelta(minutes=settings.schedule_grace_minutes))
    return Services(
        selection=selection,
        journeys=journeys,
        audiences=audiences,
        schedules=schedules,
        settings=settings,
        clock=clock,
        box=box,
        accounts=accounts,
        notifications=notifications,
        system=SystemService(clock=clock, retention_months=settings.retention_months),
        idempotency=IdempotencyService(clock=clock),
        lists=lists,
        contacts=contacts,
        imports=ImportService(clock=clock, lists=lists, data_dir=settings.data_dir,
                              notifications=notifications,
                              enroll=journeys.enroll_new),
        compliance=compliance,
        conversions=conversions,
        tune=TuneSync(clock=clock, box=box, conversions=conversions,
                      api_url=settings.tune_api_url),
        events=events,
        reports=reports,
        daily_summaries=DailySummaries(clock=clock, reports=reports),
        webhooks=WebhookService(clock=clock, box=box, emitter=events,
                                notifications=notifications),
        webhook_dispatcher=WebhookDispatcher(clock=clock, box=box,
                                             notifications=notifications),
        offers=OfferService(clock=clock),
        creatives=CreativeService(clock=clock, settings=settings),
        messages=messages,
        sending=SendService(clock=clock, settings=settings, lists=lists),
        inbound=inbound,
        replies=InboundReplies(clock=clock, lists=lists),
        callbacks=callbacks,
        failure_monitor=FailureRateMonitor(clock=clock, notifications=notifications),
        providers=providers,
        discord_links=DiscordLinkService(clock=clock, accounts=accounts),
        discord_servers=discord_servers,
        alert_preferences=AlertPreferences(clock=clock, servers=discord_servers),
        alert_delivery=AlertDelivery(clock=clock),
        support=SupportService(
            clock=clock, max_open_tickets=settings.support_max_open_tickets,
            cooldown=dt.timedelta(minutes=settings.support_cooldown_minutes)),
        redirects=build_redirects(settings, clock=clock, secret=secret, events=events),
        audit=audit,
        team=TeamService(clock=clock, accounts=accounts, audit=audit),
        billing=billing,
    )


def build_redirects(settings: Settings, *, clock: Clock, secret: str,
                    events: WebhookEmitter) -> RedirectService:
    """The redirect: links cached in front of the database, the bot detector (its
    address ranges extended from the data directory), and the click recorder."""
    return RedirectService(
        clock=clock, links=LinkCache(key=click_key(secret)),
        detector=Detector(agents=AgentClassifier(),
                          addresses=AddressBook(data_dir=settings.data_dir)),
        recorder=ClickRecorder(events=events, spool_dir=settings.data_dir / "click-spool"),
        default_hosts=[settings.tracking_domain or "", urlsplit(settings.public_url).netloc],
        proxies=ClientAddress(proxy_networks(settings.trusted_proxies)))


def build_executor(services: Services) -> Executor:
    """The send executor for this process, configured from settings."""
    settings = services.settings
    config = ExecutorConfig(
        batch_size=settings.executor_batch_size, lanes=settings.executor_lanes,
        lease=dt.timedelta(seconds=settings.executor_lease_seconds),
        unknown_grace=dt.timedelta(seconds=settings.executor_unknown_grace_seconds),
        poll_interval=settings.executor_poll_seconds)
    public_url = settings.public_url
    return Executor(clock=services.clock, providers=services.providers,
                    policy=services.compliance, billing=AccountBillingGate(clock=services.clock),
                    callback_url=lambda sending_list, _mid: callback_url(public_url,
                                                                        sending_list),
                    config=config)


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    if json_lines:
        from trackly.logs import RedactingJsonFormatter

        formatter = RedactingJsonFormatter(
            "{asctime}{levelname}{name}{message}{process}", style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger",
                           "process": "pid"},
            datefmt="%Y-%m-%dT%H:%M:%S%z")
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
    for handler in logging.getLogger().handlers:  # every logger ends here: no key passes
        if not any(isinstance(f, RedactApiKeys) for f in handler.filters):
            handler.addFilter(RedactApiKeys())
    # discord.py and aiohttp are chatty at INFO; keep their warnings.
    for noisy in ("discord.gateway", "discord.http", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
