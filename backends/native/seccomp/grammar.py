"""The line grammar of snap-confine's seccomp profiles, parsed into a Policy.

One rule per line:

    SYSCALL [ARG ...]          allow SYSCALL when every given argument matches
    ~SYSCALL [ARG ...] [errno=E]  this project's extension: an explicit denial,
                               compiled into a second filter that is loaded first;
                               it answers EACCES, or the errno E (a name such as
                               ENOSYS or EPERM, or a decimal number 1-4095)
    @unrestricted              no filter at all (classic confinement)
    @complain                  log instead of refusing (devmode)
    # comment                  and blank lines are ignored

Up to six ARG tokens, one per syscall argument in order:

    -          any value (no condition on this argument)
    N          equal to N                 !N    not equal to N
    <N  <=N    less (or equal) than N     >N >=N greater (or equal) than N
    |N         every bit of N is set      (masked equality: arg & N == N)
    u:NAME     equal to the uid of user NAME (host user database)
    g:NAME     equal to the gid of group NAME (host group database)

N is a decimal number or a named constant (AF_INET, SOCK_STREAM, PR_SET_NAME,
PRIO_PROCESS, CLONE_NEWNET, TIOCSTI, Q_GETQUOTA, S_IFREG, NETLINK_ROUTE, ...).

The acceptance rules follow snap-seccomp (snapd 2.57.6), so that an accepted text
compiles to the very filter snap-seccomp writes:

- numbers are decimal only (leading zeros allowed, no sign, no hex) and must fit
  in 32 bits: 0 to 4294967295;
- negative numbers (and a leading +) are accepted only for the uid/gid arguments
  of the chown and set*id families and copy_file_range; there every argument
  must be a plain value (no !, <, >, |) and is compared on its low 32 bits only,
  so that -1 matches both the 32-bit and the sign-extended 64-bit forms;
- user and group names match ^[a-z0-9][-a-z0-9+._]*$ and must exist on this host;
- a syscall name that libseccomp does not know is not an error here: the compiler
  skips it and reports it, as snap-seccomp does.

This grammar is stricter than snap-seccomp where snap-seccomp accepts nonsense:
it checks the arguments of lines whose syscall it would skip, refuses malformed
syscall names and unknown `@` directives, and a `@unrestricted` text is still
checked line by line. Blank lines made of spaces and indented comments are fine
(snap-seccomp 2.57.6 crashes on the first and may misread the second).

Explicit denials (`~`) compare a plain value on the low 32 bits of the argument:
the kernel reads int-sized arguments (an ioctl request, a socket family) from the
low half of the 64-bit register, so `~ioctl - TIOCSTI` must also catch a request
of 0x100005412 that a 64-bit equality would let through. For a denial, matching
more values is the safe direction.

A few constants are extensions that snap-seccomp 2.57.6 does not know (newer
snapd does): TIOCLINUX, AF_XDP/PF_XDP, CLONE_NEWCGROUP and the KCMP_* family. Lines using them
compile, but not through that snap-seccomp.
"""
from __future__ import annotations

import grp
import pwd
import re
from operator import attrgetter

from ...errors import SourceError

MAX_ARGS = 6
U32_MAX = 0xFFFFFFFF
LOW32 = 0xFFFFFFFF


class SeccompSyntaxError(SourceError):
    """A seccomp source line that cannot be accepted: names file, line and token."""


# ---- named constants -------------------------------------------------------------
# Values as on Linux x86-64 (they are the same on every architecture snapd supports,
# except where noted in the tables of the kernel headers; none of these differ).

_SOCKET_FAMILIES = {
    "UNIX": 1, "LOCAL": 1, "INET": 2, "AX25": 3, "IPX": 4, "APPLETALK": 5, "NETROM": 6,
    "BRIDGE": 7, "ATMPVC": 8, "X25": 9, "INET6": 10, "ROSE": 11, "NETBEUI": 13,
    "SECURITY": 14, "KEY": 15, "NETLINK": 16, "PACKET": 17, "ASH": 18, "ECONET": 19,
    "RDS": 21, "SNA": 22, "IRDA": 23, "PPPOX": 24, "WANPIPE": 25, "LLC": 26, "IB": 27,
    "MPLS": 28, "CAN": 29, "TIPC": 30, "BLUETOOTH": 31, "IUCV": 32, "RXRPC": 33,
    "ISDN": 34, "PHONET": 35, "IEEE802154": 36, "CAIF": 37, "ALG": 38, "NFC": 39,
    "VSOCK": 40, "QIPCRTR": 42, "XDP": 44, "CONN": 123,
}

FAMILIES: dict[str, dict[str, int]] = {
    # socket(2) domain: AF_ and PF_ spell the same numbers
    "socket domain": {f"{p}_{n}": v for n, v in _SOCKET_FAMILIES.items() for p in ("AF", "PF")},
    # socket(2) type
    "socket type": {
        "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_RDM": 4, "SOCK_SEQPACKET": 5,
        "SOCK_PACKET": 10,
    },
    # prctl(2) options and the sub-options of PR_CAP_AMBIENT and PR_SET_MM
    "prctl": {
        "PR_SET_PDEATHSIG": 1, "PR_GET_PDEATHSIG": 2, "PR_GET_DUMPABLE": 3, "PR_SET_DUMPABLE": 4,
        "PR_GET_UNALIGN": 5, "PR_SET_UNALIGN": 6, "PR_GET_KEEPCAPS": 7, "PR_SET_KEEPCAPS": 8,
        "PR_GET_FPEMU": 9, "PR_SET_FPEMU": 10, "PR_GET_FPEXC": 11, "PR_SET_FPEXC": 12,
        "PR_GET_TIMING": 13, "PR_SET_TIMING": 14, "PR_SET_NAME": 15, "PR_GET_NAME": 16,
        "PR_GET_ENDIAN": 19, "PR_SET_ENDIAN": 20, "PR_GET_SECCOMP": 21, "PR_SET_SECCOMP": 22,
        "PR_CAPBSET_READ": 23, "PR_CAPBSET_DROP": 24, "PR_GET_TSC": 25, "PR_SET_TSC": 26,
        "PR_GET_SECUREBITS": 27, "PR_SET_SECUREBITS": 28, "PR_SET_TIMERSLACK": 29,
        "PR_GET_TIMERSLACK": 30, "PR_TASK_PERF_EVENTS_DISABLE": 31,
        "PR_TASK_PERF_EVENTS_ENABLE": 32, "PR_MCE_KILL": 33, "PR_MCE_KILL_GET": 34,
        "PR_SET_MM": 35, "PR_SET_CHILD_SUBREAPER": 36, "PR_GET_CHILD_SUBREAPER": 37,
        "PR_SET_NO_NEW_PRIVS": 38, "PR_GET_NO_NEW_PRIVS": 39, "PR_GET_TID_ADDRESS": 40,
        "PR_SET_THP_DISABLE": 41, "PR_GET_THP_DISABLE": 42, "PR_MPX_ENABLE_MANAGEMENT": 43,
        "PR_MPX_DISABLE_MANAGEMENT": 44, "PR_CAP_AMBIENT": 47,
        "PR_CAP_AMBIENT_IS_SET": 1, "PR_CAP_AMBIENT_RAISE": 2, "PR_CAP_AMBIENT_LOWER": 3,
        "PR_CAP_AMBIENT_CLEAR_ALL": 4,
        "PR_SET_MM_START_CODE": 1, "PR_SET_MM_END_CODE": 2, "PR_SET_MM_START_DATA": 3,
        "PR_SET_MM_END_DATA": 4, "PR_SET_MM_START_STACK": 5, "PR_SET_MM_START_BRK": 6,
        "PR_SET_MM_BRK": 7, "PR_SET_MM_ARG_START": 8, "PR_SET_MM_ARG_END": 9,
        "PR_SET_MM_ENV_START": 10, "PR_SET_MM_ENV_END": 11, "PR_SET_MM_AUXV": 12,
        "PR_SET_MM_EXE_FILE": 13,
        "PR_SET_PTRACER": 0x59616D61,
    },
    # getpriority(2) / setpriority(2) `which`
    "priority": {"PRIO_PROCESS": 0, "PRIO_PGRP": 1, "PRIO_USER": 2},
    # clone(2), unshare(2) and setns(2) namespace flags
    "clone": {
        "CLONE_NEWNS": 0x00020000, "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000,
        "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000, "CLONE_NEWNET": 0x40000000,
        "CLONE_NEWCGROUP": 0x02000000,  # an extension: snap-seccomp 2.57.6 does not know it
    },
    # ioctl(2) requests that reach into another terminal's input or the console
    "tty ioctl": {"TIOCSTI": 0x5412, "TIOCLINUX": 0x541C},
    # quotactl(2) sub-commands (VFS and XFS)
    "quota": {
        "Q_SYNC": 0x800001, "Q_QUOTAON": 0x800002, "Q_QUOTAOFF": 0x800003, "Q_GETFMT": 0x800004,
        "Q_GETINFO": 0x800005, "Q_SETINFO": 0x800006, "Q_GETQUOTA": 0x800007,
        "Q_SETQUOTA": 0x800008,
        "Q_XQUOTAON": 0x5801, "Q_XQUOTAOFF": 0x5802, "Q_XGETQUOTA": 0x5803, "Q_XSETQLIM": 0x5804,
        "Q_XGETQSTAT": 0x5805, "Q_XQUOTARM": 0x5806,
    },
    # mknod(2) file types (octal 0100000 and so on)
    "mknod": {"S_IFREG": 0o100000, "S_IFCHR": 0o020000, "S_IFBLK": 0o060000, "S_IFIFO": 0o010000,
              "S_IFSOCK": 0o140000},
    # netlink(7) protocols, the third argument of socket(AF_NETLINK, ...)
    "netlink": {
        "NETLINK_ROUTE": 0, "NETLINK_USERSOCK": 2, "NETLINK_FIREWALL": 3, "NETLINK_SOCK_DIAG": 4,
        "NETLINK_INET_DIAG": 4, "NETLINK_NFLOG": 5, "NETLINK_XFRM": 6, "NETLINK_SELINUX": 7,
        "NETLINK_ISCSI": 8, "NETLINK_AUDIT": 9, "NETLINK_FIB_LOOKUP": 10, "NETLINK_CONNECTOR": 11,
        "NETLINK_NETFILTER": 12, "NETLINK_IP6_FW": 13, "NETLINK_DNRTMSG": 14,
        "NETLINK_KOBJECT_UEVENT": 15, "NETLINK_GENERIC": 16, "NETLINK_SCSITRANSPORT": 18,
        "NETLINK_ECRYPTFS": 19, "NETLINK_RDMA": 20, "NETLINK_CRYPTO": 21,
    },
    # ptrace(2) requests (x86 numbering)
    "ptrace": {
        "PTRACE_PEEKDATA": 2, "PTRACE_PEEKUSR": 3, "PTRACE_PEEKUSER": 3, "PTRACE_CONT": 7,
        "PTRACE_GETREGS": 12, "PTRACE_GETFPREGS": 14, "PTRACE_ATTACH": 16, "PTRACE_DETACH": 17,
        "PTRACE_GETFPXREGS": 18, "PTRACE_GETREGSET": 0x4204,
    },
    # kcmp(2) types
    "kcmp": {"KCMP_FILE": 0, "KCMP_VM": 1, "KCMP_FILES": 2, "KCMP_FS": 3, "KCMP_SIGHAND": 4,
             "KCMP_IO": 5, "KCMP_SYSVSEM": 6, "KCMP_EPOLL_TFD": 7},
}

CONSTANTS: dict[str, int] = {name: value for table in FAMILIES.values() for name, value in table.items()}

# Accepted here, unknown to snap-seccomp 2.57.6 (which refuses the line).
EXTENSION_CONSTANTS = frozenset({"TIOCLINUX", "AF_XDP", "PF_XDP", "CLONE_NEWCGROUP", *FAMILIES["kcmp"]})

# Syscalls whose arguments may be written as negative numbers (uid/gid -1 means
# "unchanged"). Their arguments are 32-bit ids: every condition on them compares
# the low 32 bits only, and only plain equality is accepted.
NEGATIVE_ARG_SYSCALLS = frozenset({
    "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
    "setgid", "setgid32", "setregid", "setregid32", "setresgid", "setresgid32",
    "setuid", "setuid32", "setreuid", "setreuid32", "setresuid", "setresuid32",
    "copy_file_range",
})

DIRECTIVES = ("@unrestricted", "@complain")

# ---- the parsed form -----------------------------------------------------------

OPS = ("EQ", "NE", "LT", "LE", "GT", "GE", "MASKED_EQ")
_PREFIX_OPS = ((">=", "GE"), ("<=", "LE"), ("!", "NE"), ("<", "LT"), (">", "GT"), ("|", "MASKED_EQ"))
_OP_TEXT = {"GE": ">=", "LE": "<=", "NE": "!", "LT": "<", "GT": ">", "EQ": "", "MASKED_EQ": "|"}


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a Record (as dataclasses.FrozenInstanceError)."""


class Record:
    """An immutable value compared and hashed by its fields, as a frozen dataclass is:
    written out because a compiling process is short, and importing dataclasses (with
    inspect, ast, dis, tokenize) and making the classes took longer than parsing a
    hundred profiles. A subclass names its fields in order (`_fields`, as repr shows
    them), the ones equality and hashing look at (`_key`, an attrgetter), and sets
    them in __init__ through __dict__."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _key = staticmethod(lambda record: ())

    def __setattr__(self, name: str, value) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._key(self) == other._key(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key(self))

    def __repr__(self) -> str:
        values = self.__dict__
        return f"{self.__class__.__qualname__}({', '.join(f'{f}={values[f]!r}' for f in self._fields)})"


class ArgCond(Record):
    """One argument condition, as libseccomp compares it.

    MASKED_EQ holds when (arg & mask) == value; every other op compares the whole
    64-bit argument with `value` (mask is None). `token` (the text it was read from)
    is not compared.
    """

    _fields = __match_args__ = ("index", "op", "value", "mask", "token")
    _key = attrgetter("index", "op", "value", "mask")

    def __init__(self, index: int, op: str, value: int, mask: int | None = None, token: str = ""):
        self.__dict__.update(index=index, op=op, value=value, mask=mask, token=token)

    def matches(self, arg: int) -> bool:
        """Whether a 64-bit argument value satisfies this condition."""
        arg &= 0xFFFFFFFFFFFFFFFF
        if self.op == "MASKED_EQ":
            return (arg & (self.mask or 0)) == self.value
        return {"EQ": arg == self.value, "NE": arg != self.value, "LT": arg < self.value,
                "LE": arg <= self.value, "GT": arg > self.value, "GE": arg >= self.value}[self.op]


class Rule(Record):
    """An allow rule, or an explicit denial (`deny=True`), from one source line.
    `text` (the line as read) is not compared; `errno` is a denial's answer (None:
    EACCES)."""

    _fields = __match_args__ = ("syscall", "args", "line", "deny", "text", "errno")
    _key = attrgetter("syscall", "args", "line", "deny", "errno")

    def __init__(self, syscall: str, args: tuple[ArgCond, ...], line: int, deny: bool = False, text: str = "",
                 errno: int | None = None):
        self.__dict__.update(syscall=syscall, args=args, line=line, deny=deny, text=text, errno=errno)


class Policy(Record):
    _fields = __match_args__ = ("file", "rules", "denials", "unrestricted", "complain")
    _key = attrgetter(*_fields)

    def __init__(self, file: str, rules: tuple[Rule, ...] = (), denials: tuple[Rule, ...] = (),
                 unrestricted: bool = False, complain: bool = False):
        self.__dict__.update(file=file, rules=rules, denials=denials, unrestricted=unrestricted, complain=complain)

    def syscalls(self) -> set[str]:
        return {r.syscall for r in self.rules} | {r.syscall for r in self.denials}


# ---- parsing ---------------------------------------------------------------------

_SYSCALL_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_DECIMAL = re.compile(r"[0-9]+")
_SIGNED_DECIMAL = re.compile(r"[+-]?[0-9]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ACCOUNT_NAME = re.compile(r"[a-z0-9][-a-z0-9+._]*")
_BLANKS = re.compile(r"[ \t]+")


def _err(file: str, line: int, token: str, reason: str) -> SeccompSyntaxError:
    return SeccompSyntaxError(file, line, token, reason)


def _close_match(word: str, choices) -> str:
    import difflib  # only on the error path: it is slow to import

    hint = difflib.get_close_matches(word, choices, n=1, cutoff=0.75 if len(choices) > 2 else 0.6)
    return f" (did you mean {hint[0]}?)" if hint else ""


def _shown(token: str) -> str:
    """A token as an error message shows it: printable, bounded."""
    shown = token if token.isprintable() else repr(token)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _number(text: str, token: str, syscall: str, file: str, line: int) -> int:
    """The value of a number or constant, by snap-seccomp's rules for `syscall`."""
    if text in CONSTANTS:
        return CONSTANTS[text]
    if not text:
        raise _err(file, line, _shown(token), "a value must follow the operator")
    if _DECIMAL.fullmatch(text):
        value = int(text)
        if value > U32_MAX:
            raise _err(file, line, _shown(token), f"number over 32 bits (the largest is {U32_MAX})")
        return value
    if _SIGNED_DECIMAL.fullmatch(text):
        if syscall not in NEGATIVE_ARG_SYSCALLS:
            what = "negative numbers are" if text.startswith("-") else "a sign is"
            raise _err(file, line, _shown(token),
                       f"{what} accepted only for the uid/gid arguments of the chown and set*id "
                       f"families and copy_file_range, not for {syscall}")
        value = int(text)
        if not -0x80000000 <= value <= 0x7FFFFFFF:
            raise _err(file, line, _shown(token),
                       "a signed number must fit in 32 bits (-2147483648 to 2147483647)")
        return value & U32_MAX
    if text[:2].lower() == "0x" or text[:1] == "0" and len(text) > 1 and text[1:2].isalpha():
        raise _err(file, line, _shown(token),
                   "hexadecimal and other bases are not accepted: write the number in decimal")
    if _IDENT.fullmatch(text):
        raise _err(file, line, _shown(token), f"unknown constant {text}{_close_match(text.upper(), CONSTANTS)}")
    raise _err(file, line, _shown(token), "not a decimal number or a known constant")


def _account_id(kind: str, name: str, token: str, file: str, line: int) -> int:
    what = "user" if kind == "u" else "group"
    if not name:
        raise _err(file, line, _shown(token), f"a {what} name must follow {kind}:")
    if not _ACCOUNT_NAME.fullmatch(name):
        raise _err(file, line, _shown(token), f"{_shown(name)} is not a valid {what} name (lowercase letters, "
                                              "digits and - + . _, starting with a letter or digit)")
    try:
        return pwd.getpwnam(name).pw_uid if kind == "u" else grp.getgrnam(name).gr_gid
    except KeyError:
        raise _err(file, line, _shown(token), f"no {what} named {name!r} on this system") from None


def _argument(index: int, token: str, syscall: str, deny: bool, file: str, line: int) -> ArgCond | None:
    if token == "-":
        return None
    negatives = syscall in NEGATIVE_ARG_SYSCALLS
    if token.startswith(("u:", "g:")):
        op, value = "EQ", _account_id(token[0], token[2:], token, file, line)
    else:
        for prefix, op in _PREFIX_OPS:
            if token.startswith(prefix):
                text = token[len(prefix):]
                break
        else:
            op, text = "EQ", token
        value = _number(text, token, syscall, file, line)
    if negatives:
        if op != "EQ":
            raise _err(file, line, _shown(token),
                       f"only plain values are accepted for the arguments of {syscall} "
                       "(its ids are compared on their low 32 bits)")
        return ArgCond(index, "MASKED_EQ", value, LOW32, token)
    if op == "MASKED_EQ":
        return ArgCond(index, op, value, value, token)
    if op == "EQ" and deny:
        return ArgCond(index, "MASKED_EQ", value, LOW32, token)
    return ArgCond(index, op, value, None, token)


def parse_line(raw: str, lineno: int, file: str = "<seccomp>") -> Rule | str | None:
    """One source line: a Rule, a directive ("@unrestricted"/"@complain"), or None."""
    line = raw[:-1] if raw.endswith("\r") else raw
    stripped = line.strip(" \t")
    if not stripped or stripped.startswith("#"):
        return None
    tokens = _BLANKS.split(stripped)
    head = tokens[0]
    if head.startswith("@"):
        if head not in DIRECTIVES:
            more = _close_match(head, DIRECTIVES)
            raise _err(file, lineno, _shown(head), f"unknown directive{more}: only @unrestricted and @complain exist")
        if len(tokens) > 1:
            raise _err(file, lineno, _shown(tokens[1]), f"{head} stands alone on its line")
        return head
    deny = head.startswith("~")
    name = head[1:] if deny else head
    if not _SYSCALL_NAME.fullmatch(name):
        if deny and not name:
            raise _err(file, lineno, "~", "a syscall name must follow ~ (no space between them)")
        raise _err(file, lineno, _shown(head),
                   "not a syscall name (lowercase letters, digits and _, as libseccomp names them)")
    args = tokens[1:]
    answer = None
    if args and args[-1].startswith("errno="):
        if not deny:
            raise _err(file, lineno, _shown(args[-1]), "errno= belongs to explicit denials (~ lines) only")
        answer = _errno_value(args[-1], file, lineno)
        args = args[:-1]
    if not args:
        return Rule(name, (), lineno, deny, stripped, answer)
    if len(args) > MAX_ARGS:
        raise _err(file, lineno, _shown(args[MAX_ARGS]),
                   f"too many arguments: a syscall has at most {MAX_ARGS}, this line gives {len(args)}")
    conds = []
    for index, token in enumerate(args):
        cond = _argument(index, token, name, deny, file, lineno)
        if cond is not None:
            conds.append(cond)
    return Rule(name, tuple(conds), lineno, deny, stripped, answer)


def _errno_value(token: str, file: str, line: int) -> int:
    import errno as _errno_mod

    text = token[len("errno="):]
    if _DECIMAL.fullmatch(text):
        value = int(text)
        if not 1 <= value <= 4095:
            raise _err(file, line, _shown(token), "an errno number must be 1 to 4095")
        return value
    value = getattr(_errno_mod, text, None) if text.startswith("E") and _IDENT.fullmatch(text) else None
    if not isinstance(value, int):
        names = [n for n in dir(_errno_mod) if n.startswith("E") and n.isupper()]
        raise _err(file, line, _shown(token), f"unknown errno {text!r}{_close_match(text, names)}")
    return value


_MISSING = object()
_line_cache: dict[str, "Rule | str | None"] = {}
_LINE_CACHE_MAX = 50_000


def _at_line(rule: Rule, lineno: int) -> Rule:
    """`rule` as read at another line (a copy: rules are immutable)."""
    moved = object.__new__(Rule)
    moved.__dict__.update(rule.__dict__)
    moved.__dict__["line"] = lineno
    return moved


def _parse_cached(raw: str, lineno: int, file: str) -> "Rule | str | None":
    """parse_line, remembered by the text of the line: generated profiles repeat the
    template's and the interfaces' lines. Lines naming users or groups are always
    read afresh (the databases may change); errors are never remembered."""
    item = _line_cache.get(raw, _MISSING)
    if item is _MISSING:
        item = parse_line(raw, lineno, file)
        if "u:" not in raw and "g:" not in raw:
            if len(_line_cache) >= _LINE_CACHE_MAX:
                _line_cache.clear()
            _line_cache[raw] = item
    elif item.__class__ is Rule and item.line != lineno:
        item = _at_line(item, lineno)
    return item


_Block = tuple  # (rules, denials, unrestricted, complain) of some consecutive lines
_block_cache: dict[tuple[int, str], _Block] = {}
_BLOCK_CACHE_MAX = 5_000


def _parse_block(block: str, first: int, file: str) -> _Block:
    """The lines of `block`, the first of them numbered `first`."""
    rules: list[Rule] = []
    denials: list[Rule] = []
    unrestricted = complain = False
    for lineno, raw in enumerate(block.split("\n"), start=first):
        item = _parse_cached(raw, lineno, file)
        if item is None:
            continue
        if isinstance(item, str):
            if item == "@unrestricted":
                unrestricted = True
            else:
                complain = True
        elif item.deny:
            denials.append(item)
        else:
            rules.append(item)
    return tuple(rules), tuple(denials), unrestricted, complain


def parse(text: str, file: str = "<seccomp>") -> Policy:
    """Parse a whole seccomp source; raises SeccompSyntaxError at the first bad line.

    The text is read paragraph by paragraph (runs of lines between empty lines):
    generated profiles repeat the template's paragraphs at the same lines, and a
    paragraph already read at the same line gives the same rules (remembered,
    unless it names users or groups, which are looked up afresh every time)."""
    if not isinstance(text, str):
        raise TypeError("seccomp source must be text")
    rules: list[Rule] = []
    denials: list[Rule] = []
    unrestricted = complain = False
    first = 1
    cache = _block_cache
    for block in text.split("\n\n"):
        key = (first, block)
        found = cache.get(key)
        if found is None:
            found = _parse_block(block, first, file)
            if "u:" not in block and "g:" not in block:
                if len(cache) >= _BLOCK_CACHE_MAX:
                    cache.clear()
                cache[key] = found
        first += block.count("\n") + 2
        block_rules, block_denials, block_unrestricted, block_complain = found
        if block_rules:
            rules.extend(block_rules)
        if block_denials:
            denials.extend(block_denials)
        unrestricted = unrestricted or block_unrestricted
        complain = complain or block_complain
    return Policy(file, tuple(rules), tuple(denials), unrestricted, complain)


def format_rule(rule: Rule) -> str:
    """The canonical text of a rule (operators and values as written by this project)."""
    by_index = {c.index: c for c in rule.args}
    tokens = []
    for i in range(max(by_index) + 1 if by_index else 0):
        c = by_index.get(i)
        tokens.append("-" if c is None else (c.token or f"{_OP_TEXT[c.op]}{c.value}"))
    if rule.errno is not None:
        import errno as _errno_mod

        tokens.append(f"errno={_errno_mod.errorcode.get(rule.errno, rule.errno)}")
    return " ".join([("~" if rule.deny else "") + rule.syscall, *tokens])


def without_denials(text: str) -> str:
    """The source with its `~` lines dropped: what snap-seccomp 2.57.6 is given as reference."""
    kept = [line for line in text.split("\n") if not line.lstrip(" \t").startswith("~")]
    return "\n".join(kept)
