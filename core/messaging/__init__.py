"""The send pipeline: rendering, segments, short links, the outbox and its executor."""
