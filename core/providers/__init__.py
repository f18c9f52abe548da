"""SMS provider adapters behind one protocol. The only network code in core.

- ``base``: the port (``SmsProvider``, ``OutboundSms``, ``SendOutcome`` / ``Outcome``,
  ``Receipt``, ``InboundSms``, ``WebhookRequest``, ``WebhookEvents``).
- ``twilio``, ``infobip``, ``cm``: adapters, each with ``verify(request, secret)`` and
  ``parse(request) -> WebhookEvents`` for its webhooks (framework-free).
- ``simulator``: the in-process provider for ``trackly run`` and benchmarks.
- ``registry``: the adapter of each sending list, from its sealed credentials.
- ``common``: failure classification, Retry-After, constant-time token comparison.
"""
