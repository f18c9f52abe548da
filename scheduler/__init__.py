"""The time face: APScheduler interval ticks that ask core what is due."""
