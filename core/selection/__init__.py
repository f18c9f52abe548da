"""Creative selection: Thompson sampling over revenue per send, per contact segment."""
