"""Landlock rules of one security tag: where the app may read, write and execute,
whether it may use TCP, and which scopes confine it.

The output is plain JSON data that the launcher turns into a Landlock ruleset
(landlock_create_ruleset, landlock_add_rule, landlock_restrict_self) for the ABI
the running kernel has:

* `fs`: path rules, each with access letters (r, w, x, l). Paths may start with a
  variable ($SNAP, $SNAP_DATA, $SNAP_USER_DATA, $SNAP_REAL_HOME ...) that the
  launcher expands from the launch plan's environment; a rule whose last
  component holds a glob (`*`, `?`, `[...]`) is a pattern the launcher expands
  at launch as the shell does (names starting with a dot only match a pattern
  that starts with one, so `$SNAP_REAL_HOME/*` leaves hidden files out); a path
  that does not exist at launch is skipped. `l` is read_dir alone, for listing a
  directory whose entries are not all granted (the home directory): Landlock rights
  hold for everything beneath the directory a rule names, so `l` lets the app list
  every directory below it too (hidden ones included), though it reads no file there
  that another rule does not grant.
* `rights`: for each ABI 1..7, the access rights each letter stands for and the
  rights the ruleset handles (everything that ABI can restrict). The launcher
  takes the entry of min(running ABI, 7). `file-rights` are the only rights a
  rule on a non-directory may carry: the launcher masks a rule on a file with
  them.
* `network` (ABI >= 4): the TCP rights (bind, connect) that no connected
  interface grants are handled with no port rule, so they are denied.
* `scope` (ABI >= 6): the app may signal, and connect to abstract unix sockets
  of, only processes inside its own Landlock domain, unless an interface lifts it.
* `restrict-self` (ABI >= 7): flags for landlock_restrict_self so that denials of
  the exec'd app reach the audit log.

Interfaces say what they lift in their data (`landlock: {network: [...],
unscoped: [...]}`, FORMAT.md); nothing here names an interface. An interface that
lets its apps mount says so (`landlock: {mount: true}`): Landlock refuses mount,
umount and pivot_root to every process it restricts, so the launch plan skips the
Landlock step for such an app (`mount_grants`), and these rules are then not applied.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the launcher reads the JSON, not this module
    from ..profiles.context import TagContext

SCHEMA = 1
MAX_ABI = 7

# Filesystem access rights in the order of the kernel's bits, with the ABI that added each.
FS_RIGHTS: tuple[tuple[str, int], ...] = (
    ("execute", 1), ("write_file", 1), ("read_file", 1), ("read_dir", 1), ("remove_dir", 1),
    ("remove_file", 1), ("make_char", 1), ("make_dir", 1), ("make_reg", 1), ("make_sock", 1),
    ("make_fifo", 1), ("make_block", 1), ("make_sym", 1), ("refer", 2), ("truncate", 3), ("ioctl_dev", 5),
)
# Rights that a rule on a file (not a directory) may carry.
FILE_RIGHTS = ("execute", "write_file", "read_file", "truncate", "ioctl_dev")

# What each access letter of the interface format stands for. Creating device
# nodes (make_char, make_block) is never granted. `l` (list) is read_dir alone: on a
# directory it lets the app list it, and, as every Landlock right, every directory
# beneath it; `r` includes it.
LETTER_RIGHTS: dict[str, tuple[str, ...]] = {
    "r": ("read_file", "read_dir"),
    "w": ("write_file", "remove_dir", "remove_file", "make_dir", "make_reg", "make_sock", "make_fifo",
          "make_sym", "refer", "truncate", "ioctl_dev"),
    "x": ("execute",),
    "l": ("read_dir",),
}
LETTERS = "rwxl"
NET_RIGHTS = {"bind": ("bind_tcp", 4), "connect": ("connect_tcp", 4)}
SCOPES = {"abstract-unix-socket": ("abstract_unix_socket", 6), "signal": ("signal", 6)}

_ABI_OF = dict(FS_RIGHTS)

# What every app needs: its own install directory, the system's programs and
# libraries, configuration, /proc and /sys to read (the launch plan mounts them
# read-only anyway), the common devices, its private /tmp and its data directories.
BASE_RULES: tuple[tuple[str, str, str], ...] = (
    ("$SNAP", "rx", "the snap's own files"),
    ("/usr", "rx", "system programs and libraries"),
    ("/bin", "rx", "system programs"),
    ("/sbin", "rx", "system programs"),
    ("/lib", "rx", "system libraries"),
    ("/lib32", "rx", "system libraries"),
    ("/lib64", "rx", "system libraries and the dynamic loader"),
    ("/libx32", "rx", "system libraries"),
    ("/etc", "r", "system configuration"),
    ("/proc", "r", "process information"),
    ("/sys", "r", "device and kernel information"),
    ("/dev/null", "rw", "common device"),
    ("/dev/zero", "rw", "common device"),
    ("/dev/full", "rw", "common device"),
    ("/dev/random", "rw", "common device"),
    ("/dev/urandom", "rw", "common device"),
    ("/dev/tty", "rw", "the controlling terminal"),
    ("/dev/ptmx", "rw", "new pseudo-terminals (the app's own devpts instance)"),
    ("/dev/pts", "rw", "pseudo-terminals of the app's own devpts instance"),
    ("/tmp", "rw", "the snap's private /tmp"),
    ("$SNAP_DATA", "rw", "system data of this revision"),
    ("$SNAP_COMMON", "rw", "system data of every revision"),
    ("$SNAP_USER_DATA", "rw", "the user's data of this revision"),
    ("$SNAP_USER_COMMON", "rw", "the user's data of every revision"),
    ("$XDG_RUNTIME_DIR", "rw", "the app's runtime directory"),
)


def rights_for(letters: str, abi: int) -> list[str]:
    """The access rights the letters stand for under `abi`, in kernel bit order."""
    wanted = {r for c in letters for r in LETTER_RIGHTS[c]}
    return [name for name, since in FS_RIGHTS if name in wanted and since <= abi]


def rights_table() -> dict[str, dict[str, list[str]]]:
    """Per ABI 1..7: the handled filesystem rights and what each letter stands for."""
    out = {}
    for abi in range(1, MAX_ABI + 1):
        entry = {"handled": [n for n, since in FS_RIGHTS if since <= abi]}
        for letter in LETTER_RIGHTS:
            entry[letter] = rights_for(letter, abi)
        out[str(abi)] = entry
    return out


def _is_pattern(path: str) -> bool:
    last = path.rpartition("/")[2]
    return any(c in last for c in "*?[")


def _normalise(path: str) -> str:
    # $HOME in interface data is the user's real home; inside the app HOME is
    # $SNAP_USER_DATA, so name the real home by its own variable.
    if path == "$HOME" or path.startswith("$HOME/"):
        path = "$SNAP_REAL_HOME" + path[len("$HOME"):]
    if len(path) > 1:
        path = path.rstrip("/")
    return path


def _rights_of(letters: str) -> set[str]:
    return {r for c in letters for r in LETTER_RIGHTS[c]}


def _covered(path: str, access: str, rules: dict[str, dict]) -> bool:
    """Whether a rule on a directory above `path` already grants all of `access`
    (a directory's rule covers everything beneath it): such a rule is redundant."""
    parent = path
    while "/" in parent.rstrip("/"):
        parent = parent.rstrip("/").rpartition("/")[0]
        if not parent:
            break
        above = rules.get(parent)
        if above is not None and not _is_pattern(parent) and _rights_of(access) <= _rights_of(above["access"]):
            return True
    return False


def _letters(*parts: str) -> str:
    """The letters of `parts` merged, in the order r w x l; `l` is left out beside `r`,
    which includes it."""
    have = set("".join(parts))
    if "r" in have:
        have.discard("l")
    return "".join(c for c in LETTERS if c in have)


def mount_grants(ctx: "TagContext") -> list[str]:
    """The connected interfaces whose data says they let the app mount (`landlock:
    {mount: true}`), sorted. Landlock refuses every mount to a restricted process."""
    return sorted({grant.interface for grant, body in ctx.bodies("landlock") if (body or {}).get("mount") is True})


def generate(ctx: "TagContext") -> dict[str, Any]:
    """The Landlock rules of `ctx` (JSON-able, deterministic)."""
    rules: dict[str, dict[str, Any]] = {}

    def add(path: str, access: str, source: str) -> None:
        path = _normalise(path)
        rule = rules.setdefault(path, {"path": path, "access": "", "from": []})
        rule["access"] = _letters(rule["access"], access)
        if source not in rule["from"]:
            rule["from"].append(source)

    for path, access, _why in BASE_RULES:
        add(path, access, "base")
    for grant, fs_rules in ctx.bodies("filesystem"):
        for r in fs_rules or []:
            add(r["path"], r["access"], grant.interface)

    fs = []
    for path in sorted(rules):
        rule = rules[path]
        if _covered(path, rule["access"], rules):
            continue
        rule["from"].sort()
        if _is_pattern(path):
            rule["pattern"] = True
        fs.append(rule)

    kept_net: dict[str, list[str]] = {}
    unscoped: dict[str, list[str]] = {}
    for grant, body in ctx.bodies("landlock"):
        for what in (body or {}).get("network", []):
            kept_net.setdefault(what, [])
            if grant.interface not in kept_net[what]:
                kept_net[what].append(grant.interface)
        for what in (body or {}).get("unscoped", []):
            unscoped.setdefault(what, [])
            if grant.interface not in unscoped[what]:
                unscoped[what].append(grant.interface)

    network = {
        "min-abi": 4,
        "handled": sorted(NET_RIGHTS[k][0] for k in NET_RIGHTS if k not in kept_net),
        "allowed": sorted(NET_RIGHTS[k][0] for k in kept_net),
        "granted-by": {NET_RIGHTS[k][0]: sorted(v) for k, v in sorted(kept_net.items())},
    }
    scope = {
        "min-abi": 6,
        "handled": sorted(SCOPES[k][0] for k in SCOPES if k not in unscoped),
        "lifted": sorted(SCOPES[k][0] for k in unscoped),
        "lifted-by": {SCOPES[k][0]: sorted(v) for k, v in sorted(unscoped.items())},
    }
    return {
        "schema": SCHEMA,
        "tag": ctx.tag,
        "max-abi": MAX_ABI,
        "rights": rights_table(),
        "file-rights": list(FILE_RIGHTS),
        "fs": fs,
        "missing": "skip",
        "network": network,
        "scope": scope,
        # Without log_new_exec_on the kernel does not log denials of the program
        # exec'd after landlock_restrict_self, which is the app.
        "restrict-self": {"min-abi": 7, "flags": ["log_new_exec_on"]},
        # Interfaces that let the app mount: where any does, the launcher handles no
        # filesystem right (the kernel refuses mounts to a process whose domain does),
        # so the `fs` rules above are not applied; TCP and scope rules still are.
        "mount-granted-by": mount_grants(ctx),
    }


def denies_network(rules: dict) -> bool:
    """Whether these rules deny TCP connect (on a kernel with Landlock ABI >= 4)."""
    return "connect_tcp" in rules["network"]["handled"]
