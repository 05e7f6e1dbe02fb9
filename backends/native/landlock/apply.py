"""Apply the Landlock rules JSON of rules.py to the calling thread: the launcher's side.

Raw syscalls through ctypes (landlock_create_ruleset 444, landlock_add_rule 445,
landlock_restrict_self 446: one number on every architecture), standard library
only and nothing that imports `re`: this runs on the `confine run` fast path.

Two halves, so that `confine run --explain` can say what would be done without
doing it:

    prepare(rules, variables, abi) -> Prepared   expand variables and globs, keep the
                                                 paths that exist, compute the bits
    enforce(prepared)                            create the ruleset, add the rules,
                                                 restrict self (no way back)

The kernel keeps a rule on the inode a path names when the rule is added, so
`enforce` must run after the mounts of the launch (private /tmp, devpts) are in
place. landlock_restrict_self needs no_new_privs or CAP_SYS_ADMIN in the
caller's user namespace: the launcher holds the latter at this point.
"""
from __future__ import annotations

import os
import stat

from ..launch import ctypes_lite as ctypes   # not `import ctypes`: 3 ms of a launch (see ctypes_lite)

NR_CREATE_RULESET = 444
NR_ADD_RULE = 445
NR_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

# Filesystem rights in the order of the kernel's bits (LANDLOCK_ACCESS_FS_*).
FS_BITS = ("execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file", "make_char",
           "make_dir", "make_reg", "make_sock", "make_fifo", "make_block", "make_sym", "refer", "truncate",
           "ioctl_dev")
NET_BITS = ("bind_tcp", "connect_tcp")                 # LANDLOCK_ACCESS_NET_*
SCOPE_BITS = ("abstract_unix_socket", "signal")        # LANDLOCK_SCOPE_*
RESTRICT_FLAGS = {"log_same_exec_off": 1, "log_new_exec_on": 2, "log_subdomains_off": 4}


class LandlockError(OSError):
    pass


def _bits(names, table) -> int:
    out = 0
    for n in names:
        try:
            out |= 1 << table.index(n)
        except ValueError:
            raise LandlockError(22, f"unknown Landlock right {n!r}") from None
    return out


_libc = None


def _syscall(nr: int, *args) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    ctypes.set_errno(0)
    res = _libc.syscall(ctypes.c_long(nr), *args)
    if res < 0:
        code = ctypes.get_errno()
        raise LandlockError(code, os.strerror(code))
    return int(res)


def kernel_abi() -> tuple[int, str]:
    """(ABI version, "") where Landlock is on, else (0, why not)."""
    try:
        return _syscall(NR_CREATE_RULESET, ctypes.c_void_p(None), ctypes.c_size_t(0),
                        ctypes.c_uint32(CREATE_RULESET_VERSION)), ""
    except LandlockError as exc:
        if exc.errno == 38:
            return 0, "the kernel has no Landlock (CONFIG_SECURITY_LANDLOCK unset)"
        if exc.errno == 95:
            return 0, "Landlock is built in but disabled at boot (not in the lsm= list)"
        return 0, f"landlock_create_ruleset: {exc.strerror}"


# ---- expansion -------------------------------------------------------------------------

def expand(value: str, variables: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced from `variables`; an unknown name is an error."""
    if "$" not in value:
        return value
    out = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if i + 1 < n and value[i + 1] == "{":
            end = value.find("}", i + 2)
            if end < 0:
                raise ValueError(f"{value!r}: unclosed ${{")
            name, i = value[i + 2:end], end + 1
        else:
            j = i + 1
            while j < n and (value[j] == "_" or value[j].isalnum()):
                j += 1
            name, i = value[i + 1:j], j
        if not name:
            raise ValueError(f"{value!r}: a lone $")
        if name not in variables:
            raise ValueError(f"{value!r}: unknown variable ${name}")
        out.append(variables[name])
    return "".join(out)


def _class_match(pat: str, i: int, ch: str) -> tuple[bool, int] | None:
    """Match `ch` against the [...] class starting at pat[i]; (matched, index after) or None."""
    j = i + 1
    negate = j < len(pat) and pat[j] in "!^"
    if negate:
        j += 1
    first = True
    hit = False
    while j < len(pat) and (first or pat[j] != "]"):
        first = False
        lo = pat[j]
        if j + 2 < len(pat) and pat[j + 1] == "-" and pat[j + 2] != "]":
            hit = hit or lo <= ch <= pat[j + 2]
            j += 3
        else:
            hit = hit or ch == lo
            j += 1
    if j >= len(pat):
        return None        # no closing bracket: '[' is a plain character
    return hit != negate, j + 1


def glob_match(pattern: str, name: str) -> bool:
    """Shell matching of one path component: `*`, `?`, `[...]`; no `re`."""
    p = n = 0
    star_p = star_n = -1
    while n < len(name):
        if p < len(pattern):
            c = pattern[p]
            if c == "*":
                star_p, star_n = p, n
                p += 1
                continue
            if c == "?":
                p += 1
                n += 1
                continue
            if c == "[":
                res = _class_match(pattern, p, name[n])
                if res is not None:
                    if res[0]:
                        p, n = res[1], n + 1
                        continue
                elif name[n] == "[":
                    p += 1
                    n += 1
                    continue
            elif c == name[n]:
                p += 1
                n += 1
                continue
        if star_p >= 0:
            star_n += 1
            p, n = star_p + 1, star_n
            continue
        return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _expand_glob(path: str) -> list[str]:
    """The existing paths a rule whose last component is a pattern names (sorted);
    a name starting with a dot matches only a pattern starting with one."""
    parent, _, pat = path.rpartition("/")
    parent = parent or "/"
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return [os.path.join(parent, nm) for nm in sorted(names)
            if (not nm.startswith(".") or pat.startswith(".")) and glob_match(pat, nm)]


# ---- prepare / enforce ------------------------------------------------------------------

class Rule:
    __slots__ = ("path", "access", "is_dir", "rights", "source")

    def __init__(self, path: str, access: str, is_dir: bool, rights: int, source: str):
        self.path, self.access, self.is_dir, self.rights, self.source = path, access, is_dir, rights, source


class Prepared:
    """What enforce() will do: the ABI used, the handled bits and the rules that exist."""

    def __init__(self):
        self.abi = 0
        self.used_abi = 0
        self.handled_fs = 0
        self.handled_net = 0
        self.scoped = 0
        self.restrict_flags = 0
        self.rules: list[Rule] = []
        self.skipped: list[tuple[str, str, str]] = []     # (path as written, as expanded, why)
        self.notes: list[str] = []

    def restricts(self) -> bool:
        """Whether the ruleset restricts anything (the kernel refuses an empty one)."""
        return bool(self.handled_fs or self.handled_net or self.scoped)

    def summary(self) -> str:
        parts = [f"ABI {self.abi} (rules for ABI {self.used_abi})", f"{len(self.rules)} path rules"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (absent)")
        parts += self.notes
        return ", ".join(parts)


def prepare(rules: dict, variables: dict[str, str], abi: int) -> Prepared:
    """Resolve the rules JSON against this kernel's `abi` and the paths as they are now."""
    if rules.get("schema") != 1:
        raise LandlockError(22, f"Landlock rules of schema {rules.get('schema')!r}: this launcher reads schema 1")
    out = Prepared()
    out.abi = abi
    used = min(abi, int(rules.get("max-abi", 1)))
    out.used_abi = used
    table = rules["rights"][str(used)]
    out.handled_fs = _bits(table["handled"], FS_BITS)
    file_mask = _bits([r for r in rules.get("file-rights", ()) if r in table["handled"]], FS_BITS)

    net = rules.get("network") or {}
    if net and used >= int(net.get("min-abi", 4)):
        out.handled_net = _bits(net.get("handled", ()), NET_BITS)
        if net.get("handled"):
            out.notes.append("TCP " + " and ".join(h.replace("_tcp", "") for h in net["handled"]) + " denied")
    elif net.get("handled"):
        out.notes.append(f"TCP rules need ABI {net.get('min-abi', 4)}: not applied")
    scope = rules.get("scope") or {}
    if scope and used >= int(scope.get("min-abi", 6)):
        out.scoped = _bits(scope.get("handled", ()), SCOPE_BITS)
        if scope.get("handled"):
            out.notes.append("scoped: " + ", ".join(scope["handled"]))
    restrict = rules.get("restrict-self") or {}
    if restrict and used >= int(restrict.get("min-abi", 7)):
        for f in restrict.get("flags", ()):
            out.restrict_flags |= RESTRICT_FLAGS[f]

    mounters = rules.get("mount-granted-by") or []
    if mounters:
        # The kernel refuses every mount to a process whose Landlock domain restricts
        # the filesystem; a domain that handles no filesystem right lets it mount. So an
        # app that may mount keeps its TCP and scope restrictions, not its path rules.
        out.handled_fs = 0
        out.notes.append(f"filesystem not restricted ({', '.join(mounters)} "
                         f"grant{'s' if len(mounters) == 1 else ''} mounting, which Landlock would refuse)")
        return out

    for r in rules.get("fs", ()):
        written = r["path"]
        try:
            path = expand(written, variables)
        except ValueError as exc:
            raise LandlockError(22, f"Landlock rule {written!r}: {exc}") from None
        rights = 0
        for letter in r["access"]:
            rights |= _bits(table[letter], FS_BITS)
        targets = _expand_glob(path) if r.get("pattern") else [path]
        if not targets:
            out.skipped.append((written, path, "no match" if r.get("pattern") else "absent"))
        for t in targets:
            try:
                st = os.stat(t)
            except OSError:
                out.skipped.append((written, t, "absent"))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            out.rules.append(Rule(t, r["access"], is_dir, rights if is_dir else rights & file_mask, written))
    return out


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def enforce(p: Prepared) -> None:
    """Create the ruleset, add every rule, restrict the calling thread. Raises LandlockError."""
    attr = _RulesetAttr(p.handled_fs, p.handled_net, p.scoped)
    size = 24 if p.used_abi >= 6 else 16 if p.used_abi >= 4 else 8
    try:
        ruleset = _syscall(NR_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    except LandlockError as exc:
        raise LandlockError(exc.errno, f"landlock_create_ruleset: {exc.strerror}") from None
    try:
        for rule in p.rules:
            if not rule.rights:
                continue
            try:
                fd = os.open(rule.path, os.O_PATH | os.O_CLOEXEC)
            except OSError as exc:
                raise LandlockError(exc.errno, f"Landlock rule {rule.path}: {exc.strerror}") from None
            try:
                beneath = _PathBeneath(rule.rights, fd)
                _syscall(NR_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                         ctypes.byref(beneath), ctypes.c_uint32(0))
            except LandlockError as exc:
                raise LandlockError(exc.errno, f"landlock_add_rule {rule.path}: {exc.strerror}") from None
            finally:
                os.close(fd)
        try:
            _syscall(NR_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(p.restrict_flags))
        except LandlockError as exc:
            raise LandlockError(exc.errno, f"landlock_restrict_self: {exc.strerror}") from None
    finally:
        os.close(ruleset)


def apply(rules: dict, variables: dict[str, str]) -> Prepared:
    """prepare() for the running kernel, then enforce(); the Prepared tells what was done."""
    abi, why = kernel_abi()
    if not abi:
        raise LandlockError(38, why)
    p = prepare(rules, variables, abi)
    enforce(p)
    return p
