"""Audiences: source lists plus a nested AND/OR condition tree, counted in the database."""
