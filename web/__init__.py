"""The HTTP face: the REST API, public tracking endpoints and provider webhooks."""
