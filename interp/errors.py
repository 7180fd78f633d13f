"""Errors are values the UI can show: each carries one sentence for the user."""


class InterpError(Exception):
    """Base class: str(err) is a complete sentence a user can act on."""


class BadInput(InterpError):
    """The user's input cannot be run as given (empty prompt, bad steering value, ...)."""


class LoadError(InterpError):
    """A model or SAE could not be loaded (unknown name, missing files, hub unreachable)."""
