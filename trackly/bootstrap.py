"""Composition root: settings, clock, secrets and services, built once and handed to
the faces. Nothing here opens a connection at import time."""

from __future__ import annotations

import logging

from core.accounts.service import AccountService
from core.clock import Clock, SystemClock
from core.compliance.service import ComplianceService
from core.contacts.imports import ImportService
from core.contacts.lists import SendingListService
from core.contacts.service import ContactService
from core.crypto import SecretBox
from core.notifications.service import NotificationService
from core.services import Services
from core.settings import Settings, resolve_secret_key
from core.system.service import SystemService


def build_services(settings: Settings, *, clock: Clock | None = None,
                   secret_key: str | None = None) -> Services:
    clock = clock or SystemClock()
    box = SecretBox(secret_key or resolve_secret_key(settings))
    notifications = NotificationService(clock=clock)
    lists = SendingListService(clock=clock, box=box)
    contacts = ContactService(clock=clock, lists=lists)
    return Services(
        settings=settings,
        clock=clock,
        box=box,
        accounts=AccountService(clock=clock),
        notifications=notifications,
        system=SystemService(clock=clock),
        lists=lists,
        contacts=contacts,
        imports=ImportService(clock=clock, lists=lists, data_dir=settings.data_dir),
        compliance=ComplianceService(clock=clock, contacts=contacts, lists=lists,
                                     notifications=notifications),
    )


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # discord.py and aiohttp are chatty at INFO; keep their warnings.
    for noisy in ("discord.gateway", "discord.http", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
