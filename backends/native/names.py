"""Rules for names and for any text that may end up inside a generated profile.

Names follow snapd's rules. Attribute values are checked here once, before they can
reach AppArmor, seccomp, udev or Landlock text, so a generator never has to escape.
"""
from __future__ import annotations

import re

SNAP_NAME = re.compile(r"[a-z0-9](?:-?[a-z0-9])*")
APP_NAME = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*")
# plugs, slots, hooks and interfaces share one rule
PLUG_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")
VERSION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9:.+~-]{0,30}[A-Za-z0-9+~])?")
# what a command line in snap.yaml may hold (no quotes, no `..`, no shell syntax)
COMMAND = re.compile(r"[A-Za-z0-9/._ :$=-]+")
# a path attribute: absolute or under $HOME, from a conservative character set
PATH_VALUE = re.compile(r"(?:/|\$HOME/|\$SNAP/|\$SNAP_DATA/|\$SNAP_COMMON/)[A-Za-z0-9._/*?+~\[\]-]*|/|\$HOME")

# Text that could break out of a rule, a quoted string or a variable in any backend.
UNSAFE_PIECES = ("\n", "\r", '"', "'", "{", "}", ",", "#", "@{", "..", "\0", "\\", "`", "$(")


def check_snap_name(name: object) -> str | None:
    """Return why `name` is not a valid snap name, or None."""
    if not isinstance(name, str):
        return f"must be text, not {type(name).__name__}"
    if not 2 <= len(name) <= 40:
        return f"{name!r} must be 2 to 40 characters long"
    if not SNAP_NAME.fullmatch(name):
        return f"{name!r} may hold only lowercase letters, digits and single dashes inside"
    if not re.search(r"[a-z]", name):
        return f"{name!r} must hold at least one letter"
    return None


def check_plug_name(name: object, what: str = "name") -> str | None:
    if not isinstance(name, str):
        return f"{what} must be text, not {type(name).__name__}"
    if not PLUG_NAME.fullmatch(name) or len(name) > 40:
        return f"invalid {what} {name!r}: lowercase letters, digits and single dashes, starting with a letter"
    return None


def check_app_name(name: object) -> str | None:
    if not isinstance(name, str):
        return f"must be text, not {type(name).__name__}"
    if not APP_NAME.fullmatch(name) or len(name) > 40:
        return f"invalid app name {name!r}: letters, digits and single dashes"
    return None


def check_version(version: object) -> str | None:
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str):
        return f"must be text, not {type(version).__name__}"
    if not VERSION.fullmatch(version):
        return f"invalid version {version!r}: 1 to 32 characters of letters, digits and . : + ~ -"
    return None


def unsafe_piece(text: str) -> str | None:
    """The first piece of `text` that must never reach generated text, or None."""
    for piece in UNSAFE_PIECES:
        if piece in text:
            return piece
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return "a control character"
    return None


def check_safe_text(text: str) -> str | None:
    piece = unsafe_piece(text)
    if piece is None:
        return None
    shown = {"\n": "a newline", "\r": "a carriage return", "\0": "a NUL byte"}.get(piece, repr(piece))
    return f"{text!r} holds {shown}, which is not allowed in a value that reaches a profile"


# A character class in a path: letters, digits, . _ + ~ and ranges such as a-z, never empty.
# Anything else with a bracket (`/a[b`, `/a[]`, `/a]`) does not compile as an AppArmor
# glob and is refused here rather than breaking the profile later.
PATH_CLASS = re.compile(r"\[(?:[A-Za-z0-9._+~]|[A-Za-z0-9]-[A-Za-z0-9])+\]")


def check_path_value(text: str) -> str | None:
    bad = check_safe_text(text)
    if bad:
        return bad
    if not PATH_VALUE.fullmatch(text):
        return f"{text!r} is not an accepted path (absolute, or starting with $HOME/; letters, digits and . _ / * ? + ~ [ ] -)"
    if "[" in text or "]" in text:
        rest = PATH_CLASS.sub("", text)
        if "[" in rest or "]" in rest:
            return f"{text!r} has a bracket that does not form a character class such as [0-9] or [abc]"
    return None
