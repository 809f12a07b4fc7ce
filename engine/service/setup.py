"""Setting up a database: the schema, the system chain, and (a new database) the sample directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from agreeflow.engine.core import cases, db
from agreeflow.engine.core import directory as directory_mod
from agreeflow.engine.core.errors import OptionValueError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Meta, Unit
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, writing
from agreeflow.engine.service.directory import load, load_directory


def init(settings: Settings, directory_file: Path | None = None, simulation: bool = False) -> dict[str, Any]:
    """Create or upgrade the schema and the system chain; a new database gets the directory.

    ``simulation`` declares a NEW database a simulation (the demo, tests,
    training): only there may a simulated clock (``--now``) and self-declared
    identities (``--as``) be used.  A database's kind never changes after it
    is created.  On an existing database the directory is reloaded only when
    a file is given, and only by an admin (``load_directory``).
    """
    rev = db.upgrade(settings)
    with db.write(settings) as s:  # before the clock check: this transaction decides the kind
        fresh = s.exec(select(Unit.code)).first() is None and s.get(Meta, base.SIMULATION_KEY) is None
        if fresh:
            base.set_meta(s, base.SIMULATION_KEY, "true" if simulation else "false")
        kind_is_simulation = (s.get(Meta, base.SIMULATION_KEY) or Meta(key="", value="")).value == "true"
    if simulation and not kind_is_simulation:
        raise OptionValueError(option="--simulation", value="true",
                               remedy=Msg(N_("This database was created as a real one; it cannot become a "
                                             "simulation. Create a new database.")))
    with writing(settings) as s:
        cases.system_case(s, now())
    loaded = None
    if fresh:
        loaded = load(settings, directory_file or directory_mod.SAMPLE, None)
    elif directory_file is not None:
        loaded = load_directory(settings, directory_file)
    return {"database": db.safe_url(settings.url), "revision": rev, "directory": loaded,
            "data_dir": str(settings.data_dir), "simulation": kind_is_simulation}
