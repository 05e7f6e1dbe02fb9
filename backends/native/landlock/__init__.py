"""Landlock: the filesystem, network and scope rules of each app, as JSON data
the launcher turns into a ruleset for the ABI of the running kernel."""
from .rules import FILE_RIGHTS, LETTER_RIGHTS, MAX_ABI, SCHEMA, generate, rights_for

__all__ = ["FILE_RIGHTS", "LETTER_RIGHTS", "MAX_ABI", "SCHEMA", "generate", "rights_for"]
