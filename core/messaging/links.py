"""Short links: one ``https://<tracking domain>/<7 characters>`` per ``{{linkN}}`` per
message, bound to the offer's destination with the creative's URL parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.errors import ValidationError
from core.ids import short_code
from core.messaging.outbox import NewLink

_PARAM_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def tracking_base(tracking_domain: str | None, default_base: str) -> str:
    return f"https://{tracking_domain}" if tracking_domain else default_base.rstrip("/")


def destination(tracking_url: str, params: Mapping[str, Any] | None) -> str:
    """The offer URL with the binding's parameters added to its query; offer macros
    (``{click_id}`` ...) stay in place until the click fills them."""
    if not params:
        return tracking_url
    parts = urlsplit(tracking_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(str(k), str(v)) for k, v in params.items()]
    encoded = urlencode(query, safe="{}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, parts.fragment))


def clean_bindings(bindings: Any, keys: list[str], *, field: str = "link_bindings"
                   ) -> dict[str, dict[str, Any]]:
    """Validate ``{"link1": {"offer_id": 3, "params": {"sub1": "x"}}}`` against the link
    keys a body uses; bindings for links the body no longer has are dropped."""
    if bindings is None:
        bindings = {}
    if not isinstance(bindings, dict):
        raise ValidationError("link_bindings must be an object keyed by link1, link2, ...",
                              code=f"invalid_{field}", field=field)
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        binding = bindings.get(key)
        if not isinstance(binding, dict) or binding.get("offer_id") in (None, ""):
            raise ValidationError(f"{{{{{key}}}}} has no offer; bind it with "
                                  f'link_bindings.{key}.offer_id.',
                                  code="missing_link_offer", field=f"{field}.{key}")
        offer_id = binding["offer_id"]
        if not isinstance(offer_id, int) or isinstance(offer_id, bool):
            raise ValidationError(f"link_bindings.{key}.offer_id must be an offer id.",
                                  code=f"invalid_{field}", field=f"{field}.{key}")
        params = binding.get("params") or {}
        if not isinstance(params, dict) or any(
                not _PARAM_KEY.match(str(k)) or not isinstance(v, str | int | float)
                or len(str(v)) > 256 for k, v in params.items()):
            raise ValidationError(f"link_bindings.{key}.params must map names to short "
                                  "values.", code=f"invalid_{field}", field=f"{field}.{key}")
        out[key] = {"offer_id": offer_id, "params": params}
    return out


def new_links(bindings: Mapping[str, Mapping[str, Any]], offer_urls: Mapping[int, str],
              base: str) -> tuple[dict[str, str], list[NewLink]]:
    """Fresh codes for one message: the URLs to put in its text, and the rows to store."""
    urls: dict[str, str] = {}
    rows: list[NewLink] = []
    for key, binding in bindings.items():
        code = short_code()
        offer_id = binding["offer_id"]
        urls[key] = f"{base}/{code}"
        rows.append(NewLink(code=code, link_key=key, offer_id=offer_id,
                            destination_url=destination(offer_urls[offer_id],
                                                        binding.get("params"))))
    return urls, rows
