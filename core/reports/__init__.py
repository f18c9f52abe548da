"""Reports: performance metrics and LTV cohorts, computed in SQL."""
