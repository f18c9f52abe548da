"""Accounts (tenants), users, roles, API keys and Discord links."""
