"""The log filters that keep keys out of log lines, on their own."""

from __future__ import annotations

import logging

from bot.logs import RedactSecrets, install_key_redaction, scrub_options
from core.redaction import contains_api_key, redact_api_keys

KEY = "trk_" + "Ab3" * 10 + "Zz"


def test_key_shapes():
    assert contains_api_key(f"key={KEY}.") and not contains_api_key("trk_AbCdEfGh (prefix)")
    assert redact_api_keys(f"a {KEY} b {KEY[:-1]}") == "a trk_[redacted] b trk_[redacted]"


def test_secret_options_are_hidden_in_a_copy():
    event = {"t": "INTERACTION_CREATE", "d": {"data": {"options": [
        {"name": "link", "type": 1, "options": [{"value": "typo-key", "name": "api_key"}]}]}}}
    scrubbed = scrub_options(event)
    assert scrubbed["d"]["data"]["options"][0]["options"][0]["value"] == "[redacted]"
    assert event["d"]["data"]["options"][0]["options"][0]["value"] == "typo-key"


def test_installed_filter_redacts_messages_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("bot.tests.redaction")
    install_key_redaction()
    caplog.set_level(logging.DEBUG)
    logger.debug("event: %s", {"name": "api_key", "type": 3, "value": "not-even-a-key"})
    logger.info("key %s", KEY)
    try:
        raise ValueError(f"bad {KEY}")
    except ValueError:
        logger.exception("failed")
    assert KEY not in caplog.text and "not-even-a-key" not in caplog.text
    assert "'value': '[redacted]'" in caplog.text and "trk_[redacted]" in caplog.text
    assert sum(isinstance(f, RedactSecrets) for f in logger.filters) == 1
    install_key_redaction()  # idempotent
    assert sum(isinstance(f, RedactSecrets) for f in logger.filters) == 1
