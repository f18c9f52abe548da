"""Platform plumbing shared by every face: heartbeats and idempotent requests."""
