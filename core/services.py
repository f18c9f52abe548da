"""The services every face receives. Built by the composition root (``trackly``)."""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.service import AccountService
from core.clock import Clock
from core.compliance.service import ComplianceService
from core.contacts.imports import ImportService
from core.contacts.lists import SendingListService
from core.contacts.service import ContactService
from core.crypto import SecretBox
from core.notifications.service import NotificationService
from core.settings import Settings
from core.system.service import SystemService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    box: SecretBox
    accounts: AccountService
    notifications: NotificationService
    system: SystemService
    lists: SendingListService
    contacts: ContactService
    imports: ImportService
    compliance: ComplianceService
