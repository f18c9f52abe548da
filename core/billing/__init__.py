"""Usage per segment, plans, thresholds and invoices."""
