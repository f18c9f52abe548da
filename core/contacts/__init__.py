"""Sending lists, contacts, subscriptions, blocks and CSV imports."""
