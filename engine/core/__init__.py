"""The case core: tables, log, definitions, machine, guards, effects and the case API.

Imports nothing from the layers above it (checked by tests/test_layers.py)."""
