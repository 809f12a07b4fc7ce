"""agreeflow's engine.  The user interfaces call ``agreeflow.engine.service`` (one function per command).

This package itself exports only the error types, which the command line
needs before it knows which command runs: importing it must stay cheap,
because ``agreeflow --help`` starts here.
"""

from agreeflow.engine.core.errors import AgreeflowError, RefusedError, TamperingError, UserInputError

__all__ = ["AgreeflowError", "RefusedError", "TamperingError", "UserInputError"]
