"""What providers send us: delivery receipts and the SMS people write back (STOP, HELP...)."""
