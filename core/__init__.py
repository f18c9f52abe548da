"""Trackly's domain core: every business rule, no framework of any face."""
