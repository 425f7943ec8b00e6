"""Errors the user can act on: each message names what was wrong and what was expected."""


class BenchError(ValueError):
    """Bad input or configuration; the CLI prints the message without a traceback."""


class BackendUnavailable(BenchError):
    """A backend's library is not importable here; the message says why and how to install it."""
