"""Write the AppArmor profile of one security tag from its TagContext.

The profile is, in order: a header comment naming the tag, the variables the
rules use (@{SNAP_NAME}, @{SNAP_INSTANCE_NAME}, @{SNAP_REVISION},
@{SNAP_COMMAND_NAME}, @{SNAP} and any other snap variable a snippet needs),
`#include <tunables/global>`, then the profile: the base template (template.py)
and the interface snippets, grouped per interface and side in name order, each
group under a `# --- interface NAME, SIDE (...)` comment. A rule already granted
above (by the template or an earlier group) is left out, so the same rule is
never written twice. The same context always gives the same bytes.

Snippet text may use, besides AppArmor variables:
- `###PEER###`: the AppArmor label of the other end of the connection (the
  peer's security tags, or `unconfined` for the system), quoted, e.g.
  `peer=(label=###PEER###)`. Only connected-plug and connected-slot snippets
  have a peer.
- `$HOME`, `$SNAP`, `$SNAP_DATA`, `$SNAP_COMMON` coming from path attributes:
  $HOME becomes @{HOME}; the $SNAP variables of the peer's attributes were
  already expanded by the context, those left are this snap's own.
"""
from __future__ import annotations

import re

from ...errors import ConfineError
from ..profiles.context import Grant, TagContext
from .template import classic_template, strict_template

PEER_PLACEHOLDER = "###PEER###"
SECTION_MARK = "# --- "            # compile.py maps error lines to the section they fall in
INDENT = "  "

# Variables <tunables/global> of Debian's apparmor 3.0.8 defines, and the parser's own.
TUNABLE_VARIABLES = frozenset({
    "HOME", "HOMEDIRS", "pid", "pids", "tid", "uid", "uids", "sys", "PROC", "run", "multiarch",
    "etc_ro", "etc_rw", "flatpak_exports_root", "system_share_dirs", "user_share_dirs",
    "XDG_DESKTOP_DIR", "XDG_DOWNLOAD_DIR", "XDG_TEMPLATES_DIR", "XDG_PUBLICSHARE_DIR",
    "XDG_DOCUMENTS_DIR", "XDG_MUSIC_DIR", "XDG_PICTURES_DIR", "XDG_VIDEOS_DIR",
    "profile_name",
})
ALWAYS_DEFINED = ("SNAP_NAME", "SNAP_INSTANCE_NAME", "SNAP_REVISION", "SNAP_COMMAND_NAME", "SNAP")
# Defined only when a snippet uses them.
ON_DEMAND = {
    "SNAP_DATA": "/var/snap/@{SNAP_INSTANCE_NAME}/@{SNAP_REVISION}",
    "SNAP_COMMON": "/var/snap/@{SNAP_INSTANCE_NAME}/common",
    "SNAP_USER_DATA": "@{HOME}/snap/@{SNAP_INSTANCE_NAME}/@{SNAP_REVISION}",
    "SNAP_USER_COMMON": "@{HOME}/snap/@{SNAP_INSTANCE_NAME}/common",
}
VARIABLE = re.compile(r"@\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What may stand in a variable's quoted value or an unquoted path of the install root.
SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+~:-]*")
HOME_VAR = re.compile(r"\$HOME(?![A-Za-z0-9_])")
SNAP_VAR = re.compile(r"\$(SNAP_DATA|SNAP_COMMON|SNAP)(?![A-Za-z0-9_])")


class ProfileError(ConfineError):
    """A profile cannot be written for this context (bad install path, bad snippet)."""


# ---- labels --------------------------------------------------------------------

def peer_label(grant: Grant) -> str:
    """The quoted AppArmor label expression of a grant's peer."""
    tags = grant.peer_tags
    if not tags:
        if grant.peer is None:
            raise ProfileError(f"interface {grant.interface} ({grant.side} of {grant.end}) uses "
                               f"{PEER_PLACEHOLDER} but has no peer: only connected snippets may use it")
        snap = grant.peer.partition(":")[0]
        return '"unconfined"' if not snap else f'"snap.{snap}.*"'
    if len(tags) == 1:
        return f'"{tags[0]}"'
    return '"{' + ",".join(tags) + '}"'


# ---- statements ----------------------------------------------------------------

def _strip_comment(line: str) -> str:
    """`line` without a trailing comment (a `#` outside quotes, after a blank or at the start)."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted and (i == 0 or line[i - 1].isspace()):
            if line.startswith("include", i + 1):
                continue
            return line[:i].rstrip()
    return line.rstrip()


def _depth(code: str) -> int:
    """Open parentheses and braces left open by one line (globs close theirs on the line)."""
    return code.count("(") - code.count(")") + code.count("{") - code.count("}")


def _is_include(stripped: str) -> bool:
    return bool(re.match(r"(#include|include)(\s+if\s+exists)?\s*[<\"]", stripped))


class _Paragraph:
    """Comment lines and the rules under them, up to the next blank or comment."""

    def __init__(self) -> None:
        self.comments: list[str] = []
        self.rules: list[list[str]] = []   # each rule: its lines


def parse_paragraphs(text: str) -> list[_Paragraph]:
    """Split snippet text into paragraphs of comments and whole rules."""
    paragraphs: list[_Paragraph] = []
    cur: _Paragraph | None = None
    pending: list[str] = []
    depth = 0

    def new() -> _Paragraph:
        p = _Paragraph()
        paragraphs.append(p)
        return p

    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if pending:  # inside a rule that spans lines
            pending.append(line)
            code = _strip_comment(stripped)
            step = _depth(code)
            depth += step
            if depth <= 0 and (code.endswith(",") or (code.endswith("}") and step < 0)):
                cur.rules.append(pending)
                pending, depth = [], 0
            continue
        if not stripped:
            cur = None
            continue
        if stripped.startswith("#") and not _is_include(stripped):
            if cur is None or cur.rules:
                cur = new()
            cur.comments.append(line)
            continue
        if cur is None:
            cur = new()
        code = _strip_comment(stripped)
        if _is_include(stripped):
            cur.rules.append([line])
            continue
        depth = _depth(code)
        if depth <= 0 and code.endswith(","):
            cur.rules.append([line])
            depth = 0
        else:
            pending = [line]
    if pending:
        cur.rules.append(pending)  # unterminated: let the parser name it
    return paragraphs


def rule_key(lines: list[str]) -> str:
    """A rule's identity for de-duplication: its code with blanks collapsed."""
    return " ".join(" ".join(_strip_comment(x.strip()) for x in lines).split())


def _indent(lines: list[str]) -> list[str]:
    return [INDENT + x if x.strip() else "" for x in lines]


# ---- snippet text ----------------------------------------------------------------

def _expand(text: str, grant: Grant) -> str:
    if SECTION_MARK in text:  # section headers are the generator's alone
        text = re.sub(r"(?m)^(\s*)" + re.escape(SECTION_MARK), r"\1# -- ", text)
    if PEER_PLACEHOLDER in text:
        text = text.replace(PEER_PLACEHOLDER, peer_label(grant))
    text = HOME_VAR.sub("@{HOME}", text)
    return SNAP_VAR.sub(lambda m: "@{SNAP}" if m.group(1) == "SNAP" else "@{" + m.group(1) + "}", text)


def _describe(grant: Grant) -> str:
    return f"{grant.end} to {grant.peer}" if grant.peer is not None else grant.end


def _snippet_sections(ctx: TagContext, seen: set[str]) -> list[str]:
    groups: dict[tuple[str, str], list[tuple[Grant, str]]] = {}
    for grant, text in ctx.bodies("apparmor"):
        groups.setdefault((grant.interface, grant.side), []).append((grant, text))
    out: list[str] = []
    for (iface, side) in sorted(groups):
        items = sorted(groups[(iface, side)], key=lambda gt: (gt[0].end, gt[0].peer or ""))
        ends = sorted({_describe(g) for g, _ in items})
        out.append("")
        out.append(INDENT + f"{SECTION_MARK}interface {iface}, {side} ({', '.join(ends)})")
        body: list[str] = []
        emitted = 0
        had_rules = False
        last_had_comments = False
        comment_blocks: set[tuple[str, ...]] = set()
        for grant, text in items:
            for para in parse_paragraphs(_expand(text, grant)):
                kept = []
                had_rules = had_rules or bool(para.rules)
                for rule in para.rules:
                    key = rule_key(rule)
                    if key in seen:
                        continue
                    seen.add(key)
                    kept.append(rule)
                comments = tuple(para.comments)
                if para.rules and not kept:
                    continue
                if not para.rules and comments in comment_blocks:
                    continue
                comment_blocks.add(comments)
                if body and (comments or last_had_comments):
                    body.append("")
                last_had_comments = bool(comments)
                body.extend(_indent(list(comments)))
                for rule in kept:
                    body.extend(_indent(rule))
                emitted += len(kept)
        if had_rules and not emitted:  # keep the comments of a grant that has no rules at all
            body = [INDENT + "# (every rule of this interface is already granted above)"]
        out.extend(body)
    return out


# ---- the profile -------------------------------------------------------------------

def _install_dir(ctx: TagContext) -> str:
    path = (ctx.snap.path or f"/snap/{ctx.snap.name}/{ctx.snap.revision or 'unset'}").rstrip("/") or "/"
    if not SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise ProfileError(f"cannot write an AppArmor profile for {ctx.tag}: the snap's install directory "
                           f"{path!r} holds characters an AppArmor path cannot carry unescaped "
                           "(use a state root made of letters, digits and . _ / + ~ : -)")
    return path


def command_name(ctx: TagContext) -> str:
    if ctx.app is not None:
        return ctx.app
    return f"hook.{ctx.hook}"


def _variables(ctx: TagContext, used: set[str]) -> list[str]:
    values = {
        "SNAP_NAME": ctx.snap.name,
        "SNAP_INSTANCE_NAME": ctx.snap.name,
        "SNAP_REVISION": ctx.snap.revision or "unset",
        "SNAP_COMMAND_NAME": command_name(ctx),
        "SNAP": _install_dir(ctx),
    }
    lines = [f'@{{{name}}}="{values[name]}"' for name in ALWAYS_DEFINED]
    for name in sorted(used & set(ON_DEMAND)):
        lines.append(f"@{{{name}}}={ON_DEMAND[name]}")
    return lines


def _used_variables(ctx: TagContext, texts: list[str]) -> set[str]:
    used: set[str] = set()
    for text in texts:
        used |= set(VARIABLE.findall(text))
    unknown = sorted(used - TUNABLE_VARIABLES - set(ALWAYS_DEFINED) - set(ON_DEMAND))
    if unknown:
        where = sorted({g.interface for g, t in ctx.bodies("apparmor")
                        if any("@{" + u + "}" in t for u in unknown)})
        raise ProfileError(f"cannot write the AppArmor profile of {ctx.tag}: interface(s) {', '.join(where)} "
                           f"use variable(s) {', '.join('@{' + u + '}' for u in unknown)} that neither "
                           "<tunables/global> nor confine defines")
    return used


def generate(ctx: TagContext) -> str:
    """The AppArmor profile text of `ctx.tag`."""
    snap = ctx.snap
    classic = snap.confinement == "classic"
    flags = ["attach_disconnected", "mediate_deleted"]
    if classic:
        flags.append("unconfined")
    elif snap.confinement == "devmode":
        flags.append("complain")

    expanded = [_expand(text, grant) for grant, text in ctx.bodies("apparmor")]
    used = _used_variables(ctx, [] if classic else expanded)

    lines = [
        f"# AppArmor profile of {ctx.tag}",
        f"# snap {snap.name}, revision {snap.revision or 'unset'}, {snap.confinement} confinement.",
        "# Generated by confine from the snap, its connections and the interface",
        "# catalogue; edits are lost at the next change.",
        "",
        "abi <abi/3.0>,",
        "",
        *_variables(ctx, used),
        "",
        "#include <tunables/global>",
        "",
        f'profile "{ctx.tag}" ({",".join(flags)}) {{',
    ]
    if classic:
        lines.extend(_indent(classic_template().splitlines()))
        connected = sorted({f"{g.interface} ({g.side})" for g, _ in ctx.bodies("apparmor")})
        if connected:
            lines.append("")
            lines.append(INDENT + "# Interfaces granted (their rules add nothing to a classic profile):")
            lines.extend(INDENT + f"#   {c}" for c in connected)
    else:
        template = strict_template()
        lines.extend(_indent(template.splitlines()))
        seen: set[str] = set()
        for para in parse_paragraphs(template):
            seen |= {rule_key(r) for r in para.rules}
        lines.extend(_snippet_sections(ctx, seen))
    lines.append("}")
    return "\n".join(lines) + "\n"
