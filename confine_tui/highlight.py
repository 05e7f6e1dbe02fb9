"""A small regex highlighter for the profile formats no stock highlighter knows:
AppArmor, seccomp (snap-confine's grammar), libseccomp's pseudo filter code (pfc),
udev rules, JSON (Landlock rules, launch plans), module lists and unified diffs.

Each format is a list of (regex, style); later rules paint over earlier ones. Only
named group `h` is painted when the regex has it, else the whole match. Comments
(COMMENT_OF) are found first: nothing inside one is painted but the comment style.
"""
from __future__ import annotations

import re

from rich.text import Text

Rules = list[tuple[re.Pattern, str]]


def _r(pattern: str, style: str, flags: int = re.MULTILINE) -> tuple[re.Pattern, str]:
    return re.compile(pattern, flags), style


APPARMOR: Rules = [
    _r(r"(?P<h>@\{[A-Za-z_]+\})", "yellow"),
    _r(r"(?P<h>(?:^|\s)/[^\s,]*)", "cyan"),
    _r(r"\s(?P<h>[rwaxmlkdiPpUuCc]+)(?=,)", "green"),
    _r(r"^\s*(?P<h>(?:deny|audit|owner|allow|quiet|priority=\d+)\b)", "bold red"),
    _r(r"\b(?P<h>capability|network|signal|ptrace|unix|dbus|mount|umount|remount|pivot_root|change_profile|"
       r"file|include|abi|profile|userns|mqueue|link|rlimit)\b", "bold magenta"),
    _r(r"(?P<h>peer=\([^)]*\)|label=\S+|bus=\S+|path=\S+|interface=\S+|member=\S+)", "blue"),
    _r(r"(?P<h>#include\s+<[^>]+>|include\s+<[^>]+>)", "bold blue"),
    _r(r"(?P<h>[{}])", "bold"),
]

SECCOMP: Rules = [
    _r(r"^\s*(?P<h>[a-z_0-9]+)", "green"),
    _r(r"(?P<h>@\w+)", "bold yellow"),
    _r(r"^\s*(?P<h>~)", "bold red"),
    _r(r"(?P<h>\b(?:[<>!=]=?|\|)\s*-?\w+)", "cyan"),
    _r(r"(?P<h>\b(?:AF|PF|SOCK|O|CLONE|PR|TIOC|IPPROTO|SIG|CAP)_[A-Z0-9_]+\b)", "magenta"),
    _r(r"\s(?P<h>-)(?=\s|$)", "dim"),
]

PFC: Rules = [
    _r(r"(?P<h>\b(?:if|else|action|goto|return)\b)", "bold magenta"),
    _r(r"(?P<h>\$\w+(?:\.\w+)?)", "cyan"),
    _r(r"(?P<h>\bALLOW\b)", "bold green"),
    _r(r"(?P<h>\b(?:KILL\w*|ERRNO\(\d+\)|TRAP|LOG|NOTIFY|TRACE\(\d+\))\b)", "bold red"),
    _r(r"(?P<h>\b0x[0-9a-fA-F]+\b|\b\d+\b)", "yellow"),
]

UDEV: Rules = [
    _r(r"(?P<h>\b[A-Z][A-Z_]*(?:\{[^}]*\})?)(?=\s*[!=+:]?=)", "cyan"),
    _r(r"(?P<h>[!=+:]?==?)", "bold"),
    _r(r'(?P<h>"[^"]*")', "green"),
]

JSON: Rules = [
    _r(r'(?P<h>"(?:[^"\\]|\\.)*")', "green"),
    _r(r'(?P<h>"(?:[^"\\]|\\.)*")\s*:', "bold cyan"),
    _r(r"(?P<h>\b(?:true|false|null)\b)", "bold magenta"),
    _r(r"(?P<h>(?<![\w\"])-?\d+(?:\.\d+)?\b)", "yellow"),
]

MODULES: Rules = [_r(r"^(?P<h>[^#\s]\S*)", "bold yellow")]

DIFF: Rules = [
    _r(r"^(?P<h>\+.*)$", "green"),
    _r(r"^(?P<h>-.*)$", "red"),
    _r(r"^(?P<h>@@.*@@)", "bold cyan"),
    _r(r"^(?P<h>(?:\+\+\+|---) .*)$", "bold"),
]

FORMATS: dict[str, Rules] = {"apparmor": APPARMOR, "seccomp": SECCOMP, "pfc": PFC, "udev": UDEV,
                             "landlock": JSON, "launch": JSON, "json": JSON, "modules": MODULES, "diff": DIFF}


COMMENT_STYLE = "italic bright_black"
# Where a comment starts, per format: AppArmor's `#include` is not one.
COMMENT_OF = {
    "apparmor": re.compile(r"(?<![\w@])#(?!include\b).*$", re.MULTILINE),
    "seccomp": re.compile(r"#.*$", re.MULTILINE),
    "pfc": re.compile(r"#.*$", re.MULTILINE),
    "udev": re.compile(r"^\s*#.*$", re.MULTILINE),
    "modules": re.compile(r"#.*$", re.MULTILINE),
}


def highlight(text: str, kind: str) -> Text:
    """`text` as a rich Text, painted by the rules of `kind` (plain when unknown)."""
    out = Text(text)
    comment = COMMENT_OF.get(kind)
    spans = [m.span() for m in comment.finditer(text)] if comment else []

    def in_comment(pos: int) -> bool:
        return any(a <= pos < b for a, b in spans)

    for regex, style in FORMATS.get(kind, []):
        for m in regex.finditer(text):
            if "h" in regex.groupindex and m.group("h") is not None:
                start, end = m.span("h")
            else:
                start, end = m.span()
            if end > start and not (spans and in_comment(start)):
                out.stylize(style, start, end)
    for a, b in spans:
        out.stylize(COMMENT_STYLE, a, b)
    return out
