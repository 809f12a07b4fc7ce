"""Where agreeflow keeps its data and who is acting: flags override the environment.

Defaults:
    data dir   ``AGREEFLOW_HOME`` or the user's data directory (platformdirs)
    database   ``--db`` / ``AGREEFLOW_DB`` or ``sqlite:///<data dir>/agreeflow.db``
    language   ``--lang`` / ``AGREEFLOW_LANG`` or ``vi``
    user       ``--as`` / ``AGREEFLOW_USER`` (no default: writes need a person)
    mail       ``AGREEFLOW_SMTP`` or the ``.eml`` sink in ``<data dir>/mail``
    checkpoints ``AGREEFLOW_CHECKPOINTS`` or ``<data dir>/checkpoints`` (one file per sweep)
    signing    ``AGREEFLOW_SIGNING_KEY``: the Ed25519 key that signs checkpoints (none: unsigned)
    inspectorate ``AGREEFLOW_INSPECTORATE``: address(es) every new checkpoint is mailed to (none: not mailed)
    letters    ``AGREEFLOW_LETTER_TEMPLATES``: a folder of letter templates replacing shipped ones by name
    base URL   ``AGREEFLOW_BASE_URL`` (the web's address, for links in mail; none: mails name commands)
    secret     ``AGREEFLOW_SECRET_FILE`` or ``<data dir>/secret.key`` (signs cookies and reply links)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    """``AGREEFLOW_HOME`` or the platform's per-user data directory."""
    env = os.environ.get("AGREEFLOW_HOME")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("agreeflow", appauthor=False))


def cli_origin() -> str:
    """``cli:<operating-system account>@<host>`` of this process."""
    import getpass
    import socket
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the number still tells who
        account = str(os.getuid())
    return f"cli:{account}@{socket.gethostname()}"


@dataclass
class Settings:
    """What one invocation runs against."""

    data_dir: Path = field(default_factory=default_data_dir)
    """Folder for the SQLite file, attachments and the mail sink."""
    db_url: str | None = None
    """Any SQLAlchemy URL; default: SQLite in ``data_dir``."""
    lang: str = "vi"
    """Language of messages: ``vi`` (default) or ``en``."""
    user: str | None = None
    """E-mail of the acting person (from the directory)."""
    smtp_url: str | None = None
    """``smtp://…``/``smtps://…``; None → ``.eml`` files in ``data_dir/mail``."""
    token: str | None = None
    """A sign-in token (``AGREEFLOW_TOKEN``; the command line also reads the one ``agreeflow login`` saved)."""
    origin: str = field(default_factory=lambda: cli_origin())
    """Where the writes come from, recorded on every event: ``cli:<os account>@<host>`` by default."""
    letter_templates: Path | None = None
    """An operator's folder of letter templates (``<lang>/<kind>.txt``); a file there replaces the shipped one of
    the same name (engine/templates/letters).  None: the shipped templates."""
    checkpoints: Path | None = None
    """Folder of the automatic checkpoints, outside the database; default ``data_dir/checkpoints``."""
    signing_key: Path | None = None
    """Ed25519 private key (PEM) that signs checkpoints; None: they are written unsigned."""
    inspectorate: str | None = None
    """Address(es), comma-separated, that each new checkpoint is mailed to; None: not mailed."""

    base_url: str | None = None
    """The web's address as readers reach it (``https://agreeflow.example``): mails carry links to it."""

    @classmethod
    def from_env(cls, **overrides: str | Path | None) -> Settings:
        """Settings from the environment, with non-None overrides applied."""
        s = cls(
            db_url=os.environ.get("AGREEFLOW_DB") or None,
            lang=os.environ.get("AGREEFLOW_LANG") or "vi",
            user=os.environ.get("AGREEFLOW_USER") or None,
            smtp_url=os.environ.get("AGREEFLOW_SMTP") or None,
            token=os.environ.get("AGREEFLOW_TOKEN") or None,
            letter_templates=(Path(os.environ["AGREEFLOW_LETTER_TEMPLATES"])
                              if os.environ.get("AGREEFLOW_LETTER_TEMPLATES") else None),
            checkpoints=Path(os.environ["AGREEFLOW_CHECKPOINTS"]) if os.environ.get("AGREEFLOW_CHECKPOINTS") else None,
            signing_key=Path(os.environ["AGREEFLOW_SIGNING_KEY"]) if os.environ.get("AGREEFLOW_SIGNING_KEY") else None,
            inspectorate=os.environ.get("AGREEFLOW_INSPECTORATE") or None,
            base_url=os.environ.get("AGREEFLOW_BASE_URL") or None,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(s, key, Path(value) if key in ("data_dir", "checkpoints", "signing_key", "letter_templates")
                        else value)
        return s

    @property
    def url(self) -> str:
        """The database URL in force."""
        return self.db_url or f"sqlite:///{self.data_dir / 'agreeflow.db'}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def checkpoints_dir(self) -> Path:
        return self.checkpoints or self.data_dir / "checkpoints"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def secret_file(self) -> Path:
        """The signing secret (never in the database): ``AGREEFLOW_SECRET_FILE`` or ``<data dir>/secret.key``."""
        env = os.environ.get("AGREEFLOW_SECRET_FILE")
        return Path(env) if env else self.data_dir / "secret.key"
