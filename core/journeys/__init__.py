"""Welcome journeys: steps, enrollments, and their advancement over time."""
