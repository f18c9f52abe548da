"""The services every face receives. Built by the composition root (``trackly``)."""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.discord_links import DiscordLinkService
from core.accounts.discord_servers import DiscordServerService
from core.accounts.service import AccountService
from core.accounts.team import TeamService
from core.audiences.service import AudienceService
from core.audit.service import AuditLog
from core.billing.service import BillingService
from core.campaigns.service import ScheduleService
from core.clock import Clock
from core.compliance.service import ComplianceService
from core.contacts.import_jobs import ImportService
from core.contacts.lists import SendingListService
from core.contacts.service import ContactService
from core.creatives.service import CreativeService
from core.crypto import SecretBox
from core.inbound.callbacks import ProviderCallbacks
from core.inbound.replies import InboundReplies
from core.inbound.service import InboundService
from core.journeys.service import JourneyService
from core.messaging.monitor import FailureRateMonitor
from core.messaging.send import SendService
from core.messaging.service import MessageService
from core.notifications.delivery import AlertDelivery
from core.notifications.preferences import AlertPreferences
from core.notifications.service import NotificationService
from core.offers.service import OfferService
from core.providers.registry import ProviderRegistry
from core.reports.daily import DailySummaries
from core.reports.service import ReportService
from core.selection.service import SelectionService
from core.settings import Settings
from core.support.service import SupportService
from core.system.idempotency import IdempotencyService
from core.system.service import SystemService
from core.tracking.conversions import ConversionService
from core.tracking.conversions_tune import TuneSync
from core.tracking.redirect import RedirectService
from core.webhooks.delivery import WebhookDispatcher
from core.webhooks.emitter import WebhookEmitter
from core.webhooks.service import WebhookService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    box: SecretBox
    accounts: AccountService
    notifications: NotificationService
    offers: OfferService
    creatives: CreativeService
    messages: MessageService
    sending: SendService
    inbound: InboundService
    replies: InboundReplies  # replies as people read them, and the review list
    callbacks: ProviderCallbacks  # what providers post to us (not core.webhooks)
    failure_monitor: FailureRateMonitor
    system: SystemService
    idempotency: IdempotencyService
    providers: ProviderRegistry
    discord_links: DiscordLinkService
    discord_servers: DiscordServerService  # which server and channels are an account's
    alert_preferences: AlertPreferences
    alert_delivery: AlertDelivery  # claim, post, mark: the bot's side of notifications
    support: SupportService
    lists: SendingListService
    contacts: ContactService
    imports: ImportService
    compliance: ComplianceService
    conversions: ConversionService
    reports: ReportService
    daily_summaries: DailySummaries
    tune: TuneSync
    events: WebhookEmitter  # core.events.EventSink: what emits outbound webhook events
    webhooks: WebhookService
    webhook_dispatcher: WebhookDispatcher
    redirects: RedirectService  # short links: the redirect, its detector and click recorder
    audit: AuditLog
    team: TeamService
    billing: BillingService
    selection: SelectionService
    journeys: JourneyService
    audiences: AudienceService
    schedules: ScheduleService
