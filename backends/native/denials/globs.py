"""AppArmor path globs, turned into regular expressions to test a denied path.

Semantics, as apparmor_parser has them:

    *        any characters except "/" (none allowed, except right after a "/":
             `/dir/*` names the entries of dir, not `/dir/` itself)
    **       any characters, "/" included (again at least one right after a "/")
    ?        one character other than "/"
    [abc] [a-z] [^abc]   one character of (or not of) the set; never "/"
    {a,b,}   alternatives, nested freely, empty ones allowed (`/etc/ssl/{,**}`)
    \\x      the character x itself
    @{NAME}  a variable: each of its values in turn (a value may itself hold globs
             and other variables); `//` left where a value ends in "/" is one "/"

Variables are those of <tunables/global> (HOME, HOMEDIRS, PROC, sys, run, pid, pids,
tid, uid, uids, multiarch, etc_ro, etc_rw, XDG_* ...) with the values Debian's
apparmor package gives them, and the snap's own (SNAP_NAME, SNAP, SNAP_DATA ...)
when the caller passes them. @{pid}, @{pids}, @{tid} stand for a decimal process
id, @{uid} and @{uids} for a decimal user id. An unknown variable matches nothing.

    match(pattern, path, variables=None) -> bool
    compile_glob(pattern, variables=None) -> re.Pattern
    literal_length(pattern) -> int      how specific a pattern is (its fixed characters)
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import product
from typing import Mapping

_PID = "\ue000"          # stand-ins for the numeric variables, replaced by a regex at the end
_UID = "\ue001"
NUMERIC = {_PID: "[1-9][0-9]*", _UID: "[0-9]+"}

# <tunables/global> as Debian's apparmor 3.0 writes it (home.d, proc, sys, run, multiarch,
# xdg-user-dirs, share, etc, kernelvars), reduced to the values a path can take.
TUNABLES: dict[str, tuple[str, ...]] = {
    "HOMEDIRS": ("/home/",),
    "HOME": ("@{HOMEDIRS}/*/", "/root/"),
    "PROC": ("/proc/",),
    "sys": ("/sys/",),
    "run": ("/run/", "/var/run/"),
    "pid": (_PID,),
    "pids": (_PID,),
    "tid": (_PID,),
    "uid": (_UID,),
    "uids": (_UID,),
    "multiarch": ("*-linux-gnu*",),
    "etc_ro": ("/etc/", "/usr/etc/"),
    "etc_rw": ("/etc/",),
    "system_share_dirs": ("/usr/share", "/usr/local/share", "/opt/*/share"),
    "user_share_dirs": ("@{HOME}/.local/share",),
    "flatpak_exports_root": ("{flatpak,snapd-desktop-integration}/exports",),
    "XDG_DESKTOP_DIR": ("Desktop",),
    "XDG_DOWNLOAD_DIR": ("Downloads",),
    "XDG_TEMPLATES_DIR": ("Templates",),
    "XDG_PUBLICSHARE_DIR": ("Public",),
    "XDG_DOCUMENTS_DIR": ("Documents",),
    "XDG_MUSIC_DIR": ("Music",),
    "XDG_PICTURES_DIR": ("Pictures",),
    "XDG_VIDEOS_DIR": ("Videos",),
}

_VAR = re.compile(r"@\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_EXPANSIONS = 512


class GlobError(ValueError):
    """A pattern that cannot be read (unbalanced braces or brackets)."""


def _expand_variables(pattern: str, variables: Mapping[str, tuple[str, ...]], depth: int = 0) -> list[str]:
    """Every text the pattern stands for, its variables replaced by each of their values."""
    names = _VAR.findall(pattern)
    if not names:
        return [pattern]
    if depth > 8:
        raise GlobError(f"variables nested too deep in {pattern!r}")
    pieces = _VAR.split(pattern)          # text, name, text, name, ..., text
    choices: list[tuple[str, ...]] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            choices.append((piece,))
        else:
            values = variables.get(piece)
            if values is None:
                return []                 # an undefined variable: the rule matches nothing
            choices.append(tuple(values))
    out: list[str] = []
    for combo in product(*choices):
        text = "".join(combo)
        for expanded in _expand_variables(text, variables, depth + 1):
            out.append(expanded)
            if len(out) > MAX_EXPANSIONS:
                raise GlobError(f"{pattern!r} expands to too many alternatives")
    return out


def _collapse_slashes(text: str) -> str:
    return re.sub(r"/{2,}", "/", text)


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The [...] at pattern[i] as a regex class that never matches '/'; (regex, index after)."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "^!"
    if negate:
        j += 1
    body = []
    first = True
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            break
        if c == "\\" and j + 1 < len(pattern):
            j += 1
            c = pattern[j]
        if c in "\\]^[":
            body.append("\\" + c)
        elif c == "-" and body and j + 1 < len(pattern) and pattern[j + 1] != "]":
            body.append("-")
        else:
            body.append(c)
        first = False
        j += 1
    else:
        raise GlobError(f"unclosed [ in {pattern!r}")
    inner = "".join(body)
    if negate:
        return f"[^{inner}/\\x00]", j + 1
    return f"(?:(?!/)[{inner}])", j + 1


def _to_regex(pattern: str) -> str:
    """One variable-free glob to a regex body."""
    out: list[str] = []
    stack: list[list[list[str]]] = []     # open braces: list of alternatives, each a list of parts
    opened: list[str] = []                # `prev` at each open brace (each alternative starts there)
    cur = out
    i, n = 0, len(pattern)
    prev = ""                             # the previous source character outside braces' syntax

    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            cur.append(re.escape(pattern[i + 1]))
            prev = pattern[i + 1]
            i += 2
            continue
        if c in NUMERIC:
            cur.append(NUMERIC[c])
            prev = "0"
            i += 1
            continue
        if c == "*":
            double = i + 1 < n and pattern[i + 1] == "*"
            after_slash = prev == "/"
            if double:
                cur.append("[^/\\x00][^\\x00]*" if after_slash else "[^\\x00]*")
                i += 2
            else:
                cur.append("[^/\\x00][^/\\x00]*" if after_slash else "[^/\\x00]*")
                i += 1
            prev = "*"
            continue
        if c == "?":
            cur.append("[^/\\x00]")
            prev = "?"
            i += 1
            continue
        if c == "[":
            rx, i = _class(pattern, i)
            cur.append(rx)
            prev = "]"
            continue
        if c == "{":
            stack.append([[]])
            opened.append(prev)
            cur = stack[-1][-1]
            i += 1
            continue
        if c == "," and stack:
            stack[-1].append([])
            cur = stack[-1][-1]
            prev = opened[-1]
            i += 1
            continue
        if c == "}" and stack:
            alts = stack.pop()
            opened.pop()
            group = "(?:" + "|".join("".join(a) for a in alts) + ")"
            cur = stack[-1][-1] if stack else out
            cur.append(group)
            prev = "}"
            i += 1
            continue
        cur.append(re.escape(c))
        prev = c
        i += 1
    if stack:
        raise GlobError(f"unclosed {{ in {pattern!r}")
    return "".join(out)


@lru_cache(maxsize=32768)
def _compile(pattern: str, variables: tuple[tuple[str, tuple[str, ...]], ...]) -> re.Pattern:
    table = dict(TUNABLES)
    table.update(dict(variables))
    texts = _expand_variables(pattern, table)
    if not texts:
        return re.compile(r"(?!)")
    bodies = sorted({_to_regex(_collapse_slashes(t)) for t in texts})
    return re.compile("(?:" + "|".join(bodies) + ")\\Z", re.S)


def freeze(variables: Mapping[str, str | tuple[str, ...] | list[str]] | None) -> tuple:
    """Variables as a hashable key: name -> tuple of values."""
    if not variables:
        return ()
    return tuple(sorted((k, (v,) if isinstance(v, str) else tuple(v)) for k, v in variables.items()))


def _used(pattern: str, variables: Mapping) -> dict:
    """The variables `pattern` refers to, directly or through other variables' values:
    the rest cannot change its regex, and leaving them out of the cache key lets the
    patterns of a thousand snaps that name no variable of their own share one regex."""
    seen, todo = set(), [pattern]
    while todo:
        for name in _VAR.findall(todo.pop()):
            if name in seen:
                continue
            seen.add(name)
            value = variables[name] if name in variables else TUNABLES.get(name, ())
            todo.extend([value] if isinstance(value, str) else value)
    return {k: variables[k] for k in seen if k in variables}


def compile_glob(pattern: str, variables: Mapping | None = None) -> re.Pattern:
    """The regex (use .match) a path must match to fall under `pattern`."""
    return _compile(pattern, freeze(_used(pattern, variables) if variables else None))


def match(pattern: str, path: str, variables: Mapping | None = None) -> bool:
    try:
        return compile_glob(pattern, variables).match(path) is not None
    except GlobError:
        return False


def literal_length(pattern: str) -> int:
    """How many fixed characters the pattern has (variables count as their name's worth
    of a path component, 4): the more, the more specific the rule."""
    text = _VAR.sub("@@@@", pattern)
    text = re.sub(r"\[[^\]]*\]", "", text)
    return sum(1 for c in text if c not in "*?{},")
