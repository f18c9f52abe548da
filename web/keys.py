"""Typed application and request keys, in one leaf module."""

from __future__ import annotations

from aiohttp import web

from core.accounts.models import ApiKey
from core.permissions import Actor
from core.services import Services
from web.metrics import HttpMetrics

SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", HttpMetrics)
ACTOR = web.RequestKey("actor", Actor)
API_KEY = web.RequestKey("api_key", ApiKey)
