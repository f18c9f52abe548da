"""Opt-out and opt-in keywords, inbound messages, quiet hours, suppression."""
