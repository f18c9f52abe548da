"""SMS provider adapters behind one protocol. The only network code in core."""
