"""Outbound webhooks: signed JSON events to customer endpoints, retried on a ladder."""
