"""Clicks, bot verdicts, conversions and their attribution."""
