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
    attachments ``AGREEFLOW_MAX_ATTACHMENT_MB``: the largest file ``--attach`` accepts, in MB (default 20)
    letters    ``AGREEFLOW_LETTER_TEMPLATES``: a folder of letter templates replacing shipped ones by name
    base URL   ``AGREEFLOW_BASE_URL`` (the web's address, for links in mail; none: mails name commands)
    secret     ``AGREEFLOW_SECRET_FILE`` or ``<data dir>/secret.key`` (signs cookies and reply links)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agreeflow.engine.core.errors import OptionValueError

MB = 1024 * 1024
"""Bytes in the megabyte of ``AGREEFLOW_MAX_ATTACHMENT_MB`` (the binary one, as file managers count)."""
DEFAULT_MAX_ATTACHMENT_MB = 20
MAX_ATTACHMENT_ENV = "AGREEFLOW_MAX_ATTACHMENT_MB"


def default_data_dir() -> Path:
    """``AGREEFLOW_HOME`` or the platform's per-user data directory."""
    env = os.environ.get("AGREEFLOW_HOME")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("agreeflow", appauthor=False))


def cli_origin() -> str:
    """``cli:<operating-system account>@<host>`` of this process."""
    import socket
    return f"cli:{os_account()}@{socket.gethostname()}"


def os_account() -> str:
    """The operating-system account this process runs as: its real user id's name, not ``$USER``/``$LOGNAME``
    (which anybody may set), the id itself when it has no name (a container)."""
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_name
    except ImportError:  # no pwd (Windows): the login name is all there is
        import getpass
        return getpass.getuser()
    except KeyError:
        return str(os.getuid())


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
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_MB * MB
    """The largest attachment accepted, in bytes; default 20 MB (``AGREEFLOW_MAX_ATTACHMENT_MB``)."""

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
            max_attachment_bytes=attachment_limit(os.environ.get(MAX_ATTACHMENT_ENV)),
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


def attachment_limit(text: str | None) -> int:
    """``AGREEFLOW_MAX_ATTACHMENT_MB`` in bytes: a number of MB above 0 (decimals allowed), unset → 20 MB.

    Raises:
        OptionValueError (exit 2): not a number, 0 or less, or more than a terabyte — before any work.
    """
    if text is None or not text.strip():
        return DEFAULT_MAX_ATTACHMENT_MB * MB
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1024 * 1024:  # also false for NaN and infinity
        from agreeflow.engine.core.i18n import N_, Msg
        raise OptionValueError(option=MAX_ATTACHMENT_ENV, value=text,
                               remedy=Msg(N_("Give a number of MB above 0, e.g. 20 or 2.5 (default {default})."),
                                          default=DEFAULT_MAX_ATTACHMENT_MB))
    return max(int(value * MB), 1)
