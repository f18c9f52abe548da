"""Affiliate offers: where links lead and what a conversion pays."""
