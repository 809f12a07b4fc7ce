"""Where the shipped data lives: one module, so moving a file never breaks a path."""

from __future__ import annotations

from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parent.parent
"""The ``agreeflow.engine`` package folder."""
DATA_DIR = ENGINE_DIR / "data"
"""Shipped operator data: directory samples, calendar decisions, policies, report map, demo script."""
MIGRATIONS_DIR = ENGINE_DIR / "migrations"
"""Alembic's script location."""
WORKFLOWS_DIR = ENGINE_DIR.parent / "workflows"
"""The shipped procedures (``agreeflow.workflows``)."""
LETTER_TEMPLATES_DIR = ENGINE_DIR / "templates" / "letters"
"""The shipped letter templates, one folder per language (an operator's folder may replace any of them)."""


def cache_dir() -> Path:
    """Files agreeflow can always make again (compiled catalogues, the holiday table, parsed workflow files):
    ``$AGREEFLOW_HOME/cache`` when that is set, else the user's cache folder (platformdirs)."""
    import os

    home = os.environ.get("AGREEFLOW_HOME")
    if home:
        return Path(home) / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("agreeflow", appauthor=False))
