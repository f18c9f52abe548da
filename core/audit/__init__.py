"""The audit trail: who did what sensitive thing, from which face, when."""
