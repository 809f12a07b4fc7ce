"""agreeflow's engine.  The user interfaces call ``agreeflow.engine.service`` (one function per command).

This package itself exports only what the command line needs before it knows
which command runs: the error types, and the catalogue's ``text``, ``translations`` and
``speaking`` (its help is translated when shown); importing it must stay cheap,
because ``agreeflow --help`` starts here.
"""

from agreeflow.engine.core.errors import AgreeflowError, RefusedError, TamperingError, UserInputError
from agreeflow.engine.core.i18n import speaking, translations
from agreeflow.engine.core.i18n import t as text

__all__ = ["AgreeflowError", "RefusedError", "TamperingError", "UserInputError", "speaking", "text", "translations"]
