"""Landlock: the filesystem, network and scope rules of each app, as JSON data
the launcher turns into a ruleset for the ABI of the running kernel (apply.py).

The rules generator is loaded on first use, so that the launcher's fast path
(apply.py) does not import it."""

__all__ = ["FILE_RIGHTS", "LETTER_RIGHTS", "MAX_ABI", "SCHEMA", "generate", "rights_for"]


def __getattr__(name):
    if name in __all__:
        from . import rules
        return getattr(rules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
