"""Procedures built on the case core: fan-out and rounds, recurrence, plans, planner, checks."""
