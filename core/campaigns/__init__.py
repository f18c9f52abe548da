"""Schedules (campaigns), their blast variants and runs."""
