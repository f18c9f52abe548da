"""Alerts and notices written by core for the bot to deliver, exactly once."""
