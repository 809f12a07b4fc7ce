"""Vietnamese legal time: working days, holidays, deadline phrases (see docs/architecture.md)."""
