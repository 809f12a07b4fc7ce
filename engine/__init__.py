"""agreeflow's engine: the service API and the error types.

Import the service lazily (``from agreeflow.engine import service``) — the CLI's cold
start must stay fast, so this package imports nothing heavy itself.
"""

from agreeflow.engine.core.errors import (
    AgreeflowError,
    RefusedError,
    TamperingError,
    UserInputError,
)

__all__ = ["AgreeflowError", "RefusedError", "TamperingError", "UserInputError"]
