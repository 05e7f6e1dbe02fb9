"""Audit records about confinement, decoded into `Denial` objects.

    parse_line(text, line=1) -> Denial | None      one line (or one record already joined)
    parse_netlink(msg_type, payload) -> Denial | None   one message of the audit netlink socket
    parse_stream(lines) -> Iterator[Denial]        lines of a log: records spanning lines
                                                   joined, duplicates dropped, Landlock
                                                   records completed from their event
    parse_text(text) -> Iterator[Denial]           the same over a whole text, split on "\\n"
    DenialStream                                   the state machine behind parse_stream, for
                                                   sources that feed lines as they come

What is a record: the kernel's `audit(epoch:serial):` stamp followed by key=value
fields, whatever the transport put in front of it (dmesg `[secs]` or `-T` date,
/dev/kmsg `pri,seq,usec,flags;`, `<pri>`, syslog or RFC 3339 prefixes with
`kernel:` and `audit:` tags, auditd's `type=AVC msg=`, ausearch -i's interpreted
`audit(date:serial) : ` form), journald's audit transport (`audit[pid]: AVC ...`
without a stamp) and dbus-daemon's own syslog line (`apparmor="DENIED" ...`).

What comes out:
- AppArmor (type 1400, the old 1501-1507): kind apparmor, or dbus for D-Bus
  operations; mode is the `apparmor=` word (DENIED, ALLOWED, AUDIT, STATUS, ...);
  requested/denied from `requested_mask`/`denied_mask` or `requested`/`denied`;
  cls the rule class (file, capability, network, unix, signal, ptrace, mount,
  dbus, userns, status, ...: `class=` when logged, else from the operation); a
  capability record's name is its `capname` (as libapparmor has it); a STATUS
  record maps the loaded profile (name) to snap and app.
- D-Bus (type 1107 USER_AVC from dbus-daemon): kind dbus; requested and denied
  are its `mask=`, profile its `label=`; the record's own pid, uid and exe
  describe dbus-daemon, so they are kept in fields (pid as sender_pid, exe as
  exe) while Denial.pid is the client's and Denial.exe stays None.
- seccomp (type 1326): kind seccomp; `syscall=` named with the record's own arch
  (x32 when an x86_64 record carries the 0x40000000 bit), `code=` turned into the
  action (errno, log, kill_process, kill_thread, trap, user_notif, trace, allow).
  The kernel logs the action only: which errno an errno action returned is not
  in the record.
- Landlock (type 1423 access, 1424 domain): kind landlock; operation and denied
  are the `blockers=`; name the path (or address:port). An access record holds
  no pid: parse_stream completes it from its event's SYSCALL record (pid, comm,
  exe, arch, syscall, subj -> snap and app) and from the domain record (its
  creator), else from the domain's earlier allocation record; the merged
  records' fields appear in fields as "SYSCALL.<key>" and "LANDLOCK_DOMAIN.<key>".
  A domain record is mode STATUS, operation domain_allocated/domain_deallocated
  (an allocation merged into its event's access record is not given again).
- A line that looks like one of these records but cannot be decoded: kind
  unparsed with the reason. Lines that are not audit records, and audit records
  of other types (SYSCALL, PROCTITLE, SELinux AVCs, logins, ...), give None.

Nothing here raises on any input. Standard library only; the syscall tables
(syscalls/*.tsv) are read on first use, one architecture at a time.

Speed: a log repeats a few kinds of record, so the parser learns, in bounded
tables, each record layout it meets (its keys, which values are quoted: one
anchored regex then decodes a record of that layout, stamp included) and what an
AppArmor record's mode, operation, class, family and profile decide (class, snap,
app). The general path (_KV_FAST over the pairs) decides every record the tables
do not cover, and the tests check that both give the same.
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from operator import itemgetter
from typing import Iterable, Iterator

from backends.model import Denial
from ..capability_names import NAMES as CAPABILITIES

__all__ = ["DenialStream", "parse_line", "parse_netlink", "parse_stream", "parse_text",
           "syscall_name", "snap_app", "ACTIONS"]

# ---------------------------------------------------------------------------- tables

# Record type names (auditd and ausearch spell types this way) -> numbers.
RECORD_TYPES = {
    "USER_AVC": 1107, "SYSCALL": 1300, "PATH": 1302, "CWD": 1307, "EOE": 1320, "SECCOMP": 1326,
    "PROCTITLE": 1327, "AVC": 1400, "AVC_PATH": 1402, "MAC_STATUS": 1404,
    "LANDLOCK_ACCESS": 1423, "LANDLOCK_DOMAIN": 1424,
    "APPARMOR_AUDIT": 1501, "APPARMOR_ALLOWED": 1502, "APPARMOR_DENIED": 1503,
    "APPARMOR_HINT": 1504, "APPARMOR_STATUS": 1505, "APPARMOR_ERROR": 1506, "APPARMOR_KILL": 1507,
    "ANOM_ABEND": 1701,
}
T_USER_AVC, T_SYSCALL, T_EOE, T_SECCOMP, T_AVC, T_LL_ACCESS, T_LL_DOMAIN = 1107, 1300, 1320, 1326, 1400, 1423, 1424
_AA_TYPE_MODE = {1501: "AUDIT", 1502: "ALLOWED", 1503: "DENIED", 1504: "HINT", 1505: "STATUS",
                 1506: "ERROR", 1507: "KILL"}
_OURS = frozenset((T_USER_AVC, T_SECCOMP, T_AVC, T_LL_ACCESS, T_LL_DOMAIN, *_AA_TYPE_MODE))

# seccomp: SECCOMP_RET_ACTION_FULL values as logged in code=
ACTIONS = {0x00000000: "kill_thread", 0x80000000: "kill_process", 0x00030000: "trap",
           0x00050000: "errno", 0x7FC00000: "user_notif", 0x7FF00000: "trace",
           0x7FFC0000: "log", 0x7FFF0000: "allow"}
# ausearch -i's words for code=, and ours
_ACTION_WORDS = {"kill": "kill_thread", "kill-thread": "kill_thread", "kill_thread": "kill_thread",
                 "kill-process": "kill_process", "kill_process": "kill_process", "trap": "trap",
                 "errno": "errno", "trace": "trace", "log": "log", "allow": "allow",
                 "notify": "user_notif", "user-notif": "user_notif", "user_notif": "user_notif"}

# AUDIT_ARCH_* -> (name shown, syscall table)
_ARCHES = {
    0xC000003E: ("x86_64", "x86_64"), 0x40000003: ("i386", "i386"),
    0x40000028: ("arm", "arm"), 0x00000028: ("armeb", "arm"),
    0xC00000B7: ("aarch64", "aarch64"), 0x800000B7: ("aarch64_be", "aarch64"),
    0x00000008: ("mips", "mips"), 0x40000008: ("mipsel", "mips"),
    0x80000008: ("mips64", "mips64"), 0xC0000008: ("mips64el", "mips64"),
    0xA0000008: ("mips64n32", "mips64n32"), 0xE0000008: ("mips64eln32", "mips64n32"),
    0x00000014: ("ppc", "ppc"), 0x80000015: ("ppc64", "ppc64"), 0xC0000015: ("ppc64le", "ppc64"),
    0x00000016: ("s390", "s390"), 0x80000016: ("s390x", "s390x"),
    0x0000000F: ("parisc", "parisc"), 0x8000000F: ("parisc64", "parisc64"),
    0xC00000F3: ("riscv64", "riscv64"), 0x400000F3: ("riscv32", None),
    0xC0000102: ("loongarch64", None),
}
_ARCH_X86_64, _X32_BIT = 0xC000003E, 0x40000000
# names ausearch -i (or auditd's ARCH= enrichment) prints -> (name shown, table)
_ARCH_NAMES = {name: (name, table) for name, table in _ARCHES.values()}
_ARCH_NAMES.update({"x32": ("x32", "x32"), "i686": ("i386", "i386"), "i586": ("i386", "i386"),
                    "x86": ("i386", "i386"), "armv7l": ("arm", "arm"), "ppc64el": ("ppc64le", "ppc64")})


# AppArmor's class= words -> our class
_CLASS_WORDS = {"file": "file", "cap": "capability", "capability": "capability", "net": "network",
                "network": "network", "unix": "unix", "signal": "signal", "ptrace": "ptrace",
                "mount": "mount", "namespace": "userns", "userns": "userns", "dbus": "dbus",
                "io_uring": "io_uring", "posix_mqueue": "mqueue", "mqueue": "mqueue",
                "rlimits": "rlimits", "rlimit": "rlimits", "label": "label", "domain": "domain"}


def _op_classes() -> dict[str, str]:
    table = {}
    for cls, ops in (
        ("file", "open mknod mkdir rmdir unlink link symlink rename_src rename_dest chmod chown "
                 "getattr setattr exec truncate file_perm file_lock file_mmap file_mprotect "
                 "file_receive file_inherit sysctl inode_permission"),
        ("capability", "capable"),
        ("network", "create post_create bind connect listen accept sendmsg recvmsg getsockname "
                    "getpeername getsockopt setsockopt socket_shutdown shutdown sock_shutdown"),
        ("signal", "signal"), ("ptrace", "ptrace"),
        ("mount", "mount umount pivotroot remount"),
        ("dbus", "dbus_method_call dbus_signal dbus_bind dbus_eavesdrop"),
        ("userns", "userns_create"),
        ("domain", "change_hat change_profile change_onexec setprocattr getprocattr"),
        ("status", "profile_load profile_replace profile_remove"),
        ("io_uring", "uring_override uring_sqpoll"),
        ("rlimits", "setrlimit"),
    ):
        for op in ops.split():
            table[op] = cls
    return table


_OP_CLASS = _op_classes()
# a unix socket operation AppArmor may log with class="file"
_UNIX_FILE_OPS = frozenset(("connect", "bind", "listen", "sendmsg", "recvmsg"))

# Keys whose unquoted value is the kernel's hex encoding of a string.
_HEX_KEYS = frozenset((
    "name", "name2", "comm", "exe", "profile", "label", "peer", "peer_label", "target", "srcname",
    "path", "cwd", "proctitle", "ocomm", "fstype", "addr", "peer_addr", "subj", "dev", "namespace",
    "info", "key", "interface", "member", "bus", "root", "old", "new", "data",
))

# ---------------------------------------------------------------------------- regexes

_STAMP = re.compile(r"audit\(([^()]*):(\d{1,20})\)( ?):[ ]?").match  # a serial is a u64
_STAMP_NUM_RE = r"audit\(([0-9]+(?:\.[0-9]+)?):([0-9]{1,20})\): "
_STAMP_NUM = re.compile(_STAMP_NUM_RE).match
_HEX_DIGITS = frozenset("0123456789ABCDEF")
_EPOCH = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z").match
# a value is "quoted" (quotes dropped) or bare; _fields checks that quotes pair up first
_KV_FAST = re.compile(r'([A-Za-z_][\w.\-]*)="?((?<=")[^"]*|[^\s"]*)"?', re.A).findall
_KV = re.compile(r"""([A-Za-z_][\w.\-]*)=("[^"]*"|'[^']*'|\S*)""")
_KV_INTERPRETED = re.compile(r"""([A-Za-z_][\w.\-]*?)=("[^"]*"|\S*)|(\S+)""")
_IS_HEX = re.compile(r"(?:[0-9A-F]{2})+\Z").match
# the mode AppArmor appends to a subj= label, after a space: "snap.foo.bar (enforce)"
_MODE_WORDS = "enforce|complain|kill|unconfined|prompt|audit|mixed"
_SUBJ_MODE = re.compile(r"\bsubj=(\S+ \((?:%s)\))" % _MODE_WORDS)
_JOURNAL_AUDIT = re.compile(r"(?:^|\s)audit(?:\[(\d+)\])?: ([A-Z][A-Z0-9_]*(?:\[\d+\])?) ")
_AA_WORD = re.compile(r"\bapparmor=\"?(?:DENIED|ALLOWED|AUDIT|STATUS|HINT|ERROR|KILL)\b")
_LOOKS_LIKE = re.compile(r"\btype=(?:1107|1326|1400|1423|1424|150[1-7]|AVC|USER_AVC|SECCOMP|"
                         r"LANDLOCK_ACCESS|LANDLOCK_DOMAIN|APPARMOR_[A-Z]+|UNKNOWN\[14\d\d\])\b")
_TAG = re.compile(r"snap\.([a-z0-9][a-z0-9-]*(?:_[a-z0-9]{1,10})?)\.(?:(hook)\.)?([A-Za-z0-9][A-Za-z0-9-]*)\Z")
_UPDATE_NS = re.compile(r"snap-update-ns\.([a-z0-9][a-z0-9-]*(?:_[a-z0-9]{1,10})?)\Z")
# transport prefixes, for lines without a stamp (continuations); compiled on first use
_TRANSPORT_RE = (
    r"""(?:\d+,\d+,\d+,[^;]*;|<\d+>)?                  # /dev/kmsg record header, <pri>
        (?:[a-z]+\s*:[a-z]+\s*:\s?)?                    # dmesg -x facility:level:
        (?:\[\s*\d+\.\d+\]\s?                           # dmesg [secs]
          |\[[A-Z][a-z]{2}\s[A-Z][a-z]{2}\s+\d+\s[\d:]+\s\d{4}\]\s?   # dmesg -T
          |[A-Z][a-z]{2}\s+\d+\s[\d:]+(?:\.\d+)?\s+\S+\s             # syslog: date host
          |\d{4}-\d\d-\d\d[T\s][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?\s+(?:\S+\s)?  # RFC 3339 [host]
        )?
        (?:[\w.@/-]+(?:\[\d+\])?:\s)?                   # kernel: / audit[123]: / dbus-daemon[9]:
        (?:\[\s*\d+\.\d+\]\s?)?                         # kernel: [ 12.3]
    """)
_transport = None


def _transport_match(text: str):
    global _transport
    if _transport is None:
        _transport = re.compile(_TRANSPORT_RE, re.X)
    return _transport.match(text)

# ---------------------------------------------------------------------------- helpers


def _unhex(v: str) -> str:
    s = bytes.fromhex(v).decode("utf-8", "backslashreplace")
    if s.startswith("\0"):          # an abstract unix socket name
        s = "@" + s[1:]
    return s.replace("\0", " ") if "\0" in s else s


def _int(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None


def _type_of(tok: str) -> int:
    tok = tok.split(None, 1)[0] if tok.strip() else ""
    if tok.isdigit() and tok.isascii():
        return int(tok)
    if tok.startswith("UNKNOWN[") and tok.endswith("]") and tok[8:-1].isdigit() and tok.isascii():
        return int(tok[8:-1])
    return RECORD_TYPES.get(tok, -1)


_snap_cache: dict[str, tuple[str | None, str | None]] = {}


def snap_app(label: str | None) -> tuple[str | None, str | None]:
    """(snap, app) of an AppArmor label: snap.<snap>.<app>, snap.<snap>.hook.<hook> -> "hook.<hook>"."""
    if not label:
        return None, None
    hit = _snap_cache.get(label)
    if hit is not None:
        return hit
    tag = label.split("//", 1)[0]
    if tag.endswith(")") and " (" in tag:
        tag = tag[:tag.rindex(" (")]
    out: tuple[str | None, str | None] = (None, None)
    m = _TAG.match(tag)
    if m:
        out = (m.group(1), f"hook.{m.group(3)}" if m.group(2) else m.group(3))
    else:
        m = _UPDATE_NS.match(tag)
        if m:
            out = (m.group(1), None)
    if len(_snap_cache) < 4096:
        _snap_cache[label] = out
    return out


_tables: dict[str, dict[int, str]] = {}
_TABLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "syscalls")


def _table(name: str) -> dict[int, str]:
    t = _tables.get(name)
    if t is None:
        t = {}
        try:
            with open(os.path.join(_TABLE_DIR, f"{name}.tsv"), encoding="ascii") as fh:
                for row in fh:
                    nr, _, sc = row.rstrip("\n").partition("\t")
                    if sc:
                        t[int(nr)] = sc
        except (OSError, ValueError):
            pass
        _tables[name] = t
    return t


def syscall_name(arch: str, nr: int) -> str | None:
    """The name of syscall `nr` on `arch` (a name as Denial.arch shows it), or None."""
    table = _ARCH_NAMES.get(arch, (None, None))[1]
    return _table(table).get(nr) if table else None


def _syscall_number(table: str, name: str) -> int | None:
    for nr, sc in _table(table).items():
        if sc == name:
            return nr
    return None



def _interpreted_epoch(text: str) -> float | None:
    """ausearch -i prints the stamp's time in local time, e.g. "11/23/2026 18:00:00.123"."""
    import time
    date, _, frac = text.partition(".")
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                "%d.%m.%Y %H:%M:%S", "%d/%m/%y %H:%M:%S"):
        try:
            t = time.mktime(time.strptime(date.strip(), fmt))
        except (ValueError, OverflowError):
            continue
        return t + (float("0." + frac) if frac.isdigit() and frac.isascii() else 0.0)
    return None


# ---------------------------------------------------------------------------- records

_new = object.__new__
_set = object.__setattr__
_DEFAULTS = {name: getattr(Denial, name, None) for name in Denial.__dataclass_fields__}
_DEFAULTS["suggestions"] = ()
_AA_TEMPLATE = {**_DEFAULTS, "kind": "apparmor"}
_SECCOMP_TEMPLATE = {**_DEFAULTS, "kind": "seccomp", "operation": "syscall", "cls": "syscall"}


def _denial(values: dict) -> Denial:
    """A Denial from a dict of its fields, without the per-field cost of the frozen __init__
    (the parser makes hundreds of thousands of these; the result is the same object)."""
    d = _new(Denial)
    dd = _DEFAULTS.copy()
    dd.update(values)
    _set(d, "__dict__", dd)
    return d


class _Rec:
    """A record located in a line: its type, stamp and the text of its fields."""

    __slots__ = ("type", "stamp", "serial", "body", "interpreted")

    def __init__(self, type_: int, stamp: str | None, serial: int | None, body: str, interpreted: bool):
        self.type = type_
        self.stamp = stamp
        self.serial = serial
        self.body = body
        self.interpreted = interpreted

    @property
    def epoch(self) -> float | None:
        s = self.stamp
        if s is None:
            return None
        if not self.interpreted:
            return float(s)                    # _scan let only numeric stamps through
        return float(s) if _EPOCH(s) else _interpreted_epoch(s)

    def core(self) -> str:
        return self.body.partition("\x1d")[0].strip()


_type_cache: dict[str, int] = {}


def _scan(text: str, forced_type: int | None = None) -> _Rec | str | None:
    """Find the record in a line: a _Rec, a reason (looks like a record, cannot be read) or None."""
    i = text.find("audit(")
    if i >= 0:
        m = _STAMP(text, i)
        if m is not None:
            if forced_type is not None:
                t = forced_type
            else:
                k = text.rfind("type=", 0, i)
                if k < 0:
                    t = 0
                else:
                    tok = text[k + 5:i]
                    t = _type_cache.get(tok)
                    if t is None:
                        t = _type_of(tok)
                        if len(_type_cache) < 512:
                            _type_cache[tok] = t
            stamp, serial, interp = m.groups()
            if not interp and not _EPOCH(stamp):
                return "malformed audit(epoch:serial) stamp"
            return _Rec(t, stamp, int(serial), text[m.end():], bool(interp))
        if forced_type is not None or _LOOKS_LIKE.search(text) or _AA_WORD.search(text):
            return "malformed audit(epoch:serial) stamp"
        return None
    if forced_type is not None:
        return _Rec(forced_type, None, None, text, False)
    m = _JOURNAL_AUDIT.search(text)
    if m is not None:
        t = _type_of(m.group(2))
        if t != -1:
            return _Rec(t, None, None, text[m.end():], False)
    m = _AA_WORD.search(text)
    if m is not None:
        return _Rec(0, None, None, text[m.start():], False)
    if _LOOKS_LIKE.search(text):
        return "record without an audit(epoch:serial) stamp"
    return None


def _fields(body: str) -> tuple[dict[str, str], str | None]:
    """Decode key=value pairs: (fields, the key of an unterminated quoted value or None)."""
    if body.count('"') & 1:
        return _fields_careful(body)
    return _quick_fields(body), None


def _quick_fields(body: str) -> dict[str, str]:
    """key=value pairs of a body whose quotes pair up."""
    return _kv(body, 0, body.count('"'))


# Layouts. Records of one kind repeat one sequence of keys, each value quoted or not, e.g.
# apparmor="" operation="" profile="" name="" pid= comm="" requested_mask="" denied_mask=""
# fsuid= ouid=. The first record of a sequence is decoded with _KV_FAST; from it a regex
# for that exact sequence is built (`apparmor="([^"]*)" +operation="([^"]*)" +...`), and
# later records that match it whole are decoded by that one match: it finds the same pairs
# _KV_FAST would (values hold no '"', bare values no whitespace, only spaces between pairs),
# and knows which hex-encodable keys were bare. Layouts are filed under the record's numbers
# of '"' and '=' (a cheap fingerprint; a few layouts may share one) and bounded in number.
_LAYOUT_STEP = re.compile(r'([A-Za-z_][\w.\-]*)=(?:"([^"]*)"|([^\s"]*))(?: +|\Z)', re.A).match
# the mode after a bare subj= label: no pair can start inside it
_LAYOUT_MODE = re.compile(r"\((?:%s)\)(?: +|\Z)" % _MODE_WORDS).match
_LAYOUTS_MAX, _LAYOUTS_PER_PRINT, _IRREGULAR_MAX = 256, 4, 4096
_layouts: dict[tuple[int, int], list[tuple]] = {}
_stamped: dict[tuple[int, int], list[tuple]] = {}   # for _fast: see _learn_layout
_irregular: set[tuple[int, int]] = set()       # fingerprints of records with no regular layout
_layouts_made = 0
# the keys _aa_fast reads, in the order it unpacks them (a layout knows where they are)
_AA_KEYS = ("apparmor", "operation", "class", "family", "name", "profile", "requested_mask", "denied_mask",
            "pid", "comm", "exe")


def _kv(s: str, e: int, quotes: int, aa: bool = False):
    """The key=value pairs of s[e:] (whose `quotes` '"' pair up), bare hex values decoded;
    with aa, (those, the values of _AA_KEYS)."""
    fp = (quotes, s.count("=", e))
    values = None
    for layout in _layouts.get(fp, ()):
        m = layout[0](s, e)
        if m is not None:
            g = m.groups()
            fields = dict(zip(layout[1], g))
            if layout[2]:
                for k in layout[2]:               # the hex-encodable keys this layout has bare
                    v = fields[k]
                    if v[:1] in _HEX_DIGITS and _IS_HEX(v):
                        body = s[e:]
                        if f' {k}="' not in body and not body.startswith(f'{k}="'):
                            fields[k] = _unhex(v)
            elif aa:
                values = layout[3](g + (None,))   # straight from the match, no dict lookups
            break
    else:
        pairs = _KV_FAST(s, e)
        fields = _scan_fields(s, e, pairs)
        if _layouts_made < _LAYOUTS_MAX and fp not in _irregular:
            _learn_layout(fp, s, e, pairs, fields)
    if "subj" in fields and " (" in s:
        m = _SUBJ_MODE.search(s, e)
        if m:
            fields["subj"] = m.group(1)
    if aa:
        return fields, values or tuple(map(fields.get, _AA_KEYS))
    return fields


def _scan_fields(s: str, e: int, pairs: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """_kv without layouts: the pairs _KV_FAST finds in s[e:], bare hex values decoded."""
    fields = dict(_KV_FAST(s, e) if pairs is None else pairs)
    for k in _HEX_KEYS.intersection(fields):
        v = fields[k]
        # a bare value of hex digits is the kernel's encoding; the same text quoted is not
        if v[:1] in _HEX_DIGITS and _IS_HEX(v):
            body = s[e:]
            if f' {k}="' not in body and not body.startswith(f'{k}="'):
                fields[k] = _unhex(v)
    return fields


def _learn_layout(fp: tuple[int, int], s: str, e: int, pairs: list[tuple[str, str]],
                  fields: dict[str, str]) -> None:
    """File the layout of s[e:] (whose pairs _KV_FAST found), if it has a regular one."""
    global _layouts_made
    known = _layouts.get(fp)
    if known is not None and len(known) >= _LAYOUTS_PER_PRINT:
        return
    keys, parts, bare = [], [], []
    pos, end = e, len(s)
    ok = len(pairs) == len(fields)                # a key given twice: no layout
    while ok and pos < end:
        m = _LAYOUT_STEP(s, pos)
        if m is None:
            m = _LAYOUT_MODE(s, pos) if keys else None
            if m is None:
                ok = False
                break
            parts[-1] += r" +\((?:%s)\)" % _MODE_WORDS
        else:
            k, quoted, _ = m.groups()
            keys.append(k)
            if quoted is None:
                parts.append(re.escape(k) + '=([^\\s"]*)')
                if k in _HEX_KEYS:
                    bare.append(k)
            else:
                parts.append(re.escape(k) + '="([^"]*)"')
        pos = m.end()
    ok = ok and bool(keys)
    if ok:
        match = re.compile(" +".join(parts) + " *", re.A).fullmatch
        m = match(s, e)
        ok = m is not None and list(zip(keys, m.groups())) == pairs   # (a layout agrees with _KV_FAST)
    if not ok:
        if len(_irregular) < _IRREGULAR_MAX:
            _irregular.add(fp)
        return
    # (the regex, its keys, the hex-encodable ones among them given bare, the getter of the
    # _AA_KEYS values from the match's groups followed by None)
    where = {k: i for i, k in enumerate(keys)}
    getter = itemgetter(*[where.get(k, len(keys)) for k in _AA_KEYS])
    plain = not bare and "subj" not in where     # the groups are the values as they stand
    # and, for an AppArmor record's plain layout, in _stamped: the same regex from the stamp
    # on (its groups: stamp, serial, the values, and one that never takes part: None), the
    # keys to zip with those groups (the first key three times: the stamp and the serial it
    # takes first are overwritten by its value, the dict's order stays), and the getter of
    # the _AA_KEYS values from them
    if plain and keys[0] == "apparmor":
        _stamped.setdefault(fp, []).append((
            re.compile(_STAMP_NUM_RE + " +".join(parts) + " *(?:(?!)())?", re.A).fullmatch,
            (keys[0], keys[0], *keys),
            itemgetter(*[where[k] + 2 if k in where else len(keys) + 2 for k in _AA_KEYS])))
    _layouts.setdefault(fp, []).append((match, tuple(keys), tuple(bare), getter))
    _layouts_made += 1


# what stands between `type=` and `audit(` in the kernel's and auditd's forms of the records
# the fast path takes
_AVC_HEADS = ("type=1400 ", "type=AVC msg=")
_SECCOMP_HEADS = ("type=1326 ", "type=SECCOMP msg=")


def _fast(text: str, line: int) -> Denial | None | bool:
    """parse_line for the common case: a kernel AppArmor (type 1400, apparmor= first) or
    seccomp record with a numeric stamp, whatever the transport prefix, and nothing unusual
    (no odd quote, no ', no 0x1D, no newline); False when the general path must decide.
    It gives what the general path gives (the tests compare the two)."""
    i = text.find("audit(")
    if i < 0:
        return False
    if text.endswith(_AVC_HEADS, 0, i):
        avc = True
    elif text.endswith(_SECCOMP_HEADS, 0, i):
        avc = False
    else:
        return False
    # (the checks look at the whole line: a prefix holding one of these only sends the line
    # the general way; a numeric stamp holds no '"' nor '=')
    quotes = text.count('"', i)
    if quotes & 1 or "'" in text or "\x1d" in text or "\n" in text:
        return False
    if avc:
        # the commonest case: an AppArmor record of a known layout, stamp and fields in one match
        for match, keys, getter in _stamped.get((quotes, text.count("=", i)), ()):
            lm = match(text, i)
            if lm is not None:
                g = lm.groups()
                return _aa_fast(dict(zip(keys, g)), getter(g), float(g[0]), int(g[1]), line, text)
    if text[-1:] == "\r":                        # (a line end: parse_line strips it first)
        return False
    m = _STAMP_NUM(text, i)
    if m is None:
        return False
    e = m.end()                                  # the fields start here
    if avc and not text.startswith("apparmor=", e):
        return False
    stamp, serial = m.groups()
    if avc:
        fields, values = _kv(text, e, quotes, True)
        return _aa_fast(fields, values, float(stamp), int(serial), line, text)
    fields = _kv(text, e, quotes)
    return _seccomp(_Rec(T_SECCOMP, stamp, int(serial), text[e:], False), line, text, fields)


# What a kernel AppArmor record's (apparmor, operation, class, family, profile, whether it has a
# name) decide, worked out once per combination: logs repeat a few of them over and over.
# Each maps to (the Denial's dict with those parts filled in, what is left to do per record:
# _SHAPE_PLAIN, _SHAPE_CAP the capability, _SHAPE_STATUS snap and app from the name), or to
# None for the records _aa_record handles (D-Bus, no apparmor=).
_SHAPE_PLAIN, _SHAPE_CAP, _SHAPE_STATUS = 0, 1, 2
_aa_shapes: dict[tuple, tuple[dict, int] | None] = {}


def _aa_shape(key: tuple) -> tuple[dict, int] | None:
    mode, op, word, family, profile, no_name = key
    if word:
        cls = _CLASS_WORDS.get(word, word)
    else:
        cls = _OP_CLASS.get(op)
    if family is None:
        if cls == "network" and not no_name:
            cls = "file"                       # connect to a named socket, logged as a file access
    elif cls == "network":
        if family == "unix":
            cls = "unix"
    elif cls == "file" and op in _UNIX_FILE_OPS:
        cls = "unix" if family == "unix" else "network"
    if not mode or cls == "dbus" or cls is None and op and op.startswith("dbus"):
        out = None
    else:
        todo = _SHAPE_PLAIN
        if cls == "capability":
            todo = _SHAPE_CAP
        elif cls == "status" and (not profile or profile == "unconfined"):
            todo = _SHAPE_STATUS
        v = _AA_TEMPLATE.copy()
        v["mode"] = mode.upper()
        v["operation"] = op
        v["profile"] = profile
        v["snap"], v["app"] = snap_app(profile) if todo != _SHAPE_STATUS else (None, None)
        v["family"] = family
        v["cls"] = cls
        out = (v, todo)
    if len(_aa_shapes) < 4096:
        _aa_shapes[key] = out
    return out


def _aa_fast(f: dict[str, str], values: tuple, epoch: float, serial: int, line: int, raw: str) -> Denial:
    """_aa_record for a kernel AppArmor record (type 1400, apparmor= first), in one go; values
    are those of _AA_KEYS in f."""
    mode, op, word, family, name, profile, requested, denied, pid, comm, exe = values
    if not profile:
        profile = f.get("label")
    key = (mode, op, word, family, profile, name is None)
    shape = _aa_shapes.get(key, False)
    if shape is False:
        shape = _aa_shape(key)
    if shape is None:
        return _aa_record(_Rec(T_AVC, repr(epoch), serial, "", False), line, raw, f, None, T_AVC)
    v, todo = shape
    v = v.copy()
    if todo:
        if todo == _SHAPE_CAP:
            cap = f.get("capname")
            if name is None:
                name = cap
            if cap is None and "capability" in f:
                n = _int(f["capability"])
                cap = CAPABILITIES[n] if n is not None and 0 <= n < len(CAPABILITIES) else f["capability"]
            v["capability"] = cap
        else:
            v["snap"], v["app"] = snap_app(name)
    if pid is not None:
        try:
            pid = int(pid)
        except ValueError:
            pid = None
    v["name"] = name
    v["requested"] = requested or f.get("requested")
    v["denied"] = denied or f.get("denied")
    v["pid"] = pid
    v["comm"] = comm
    v["exe"] = exe
    v["epoch"] = epoch
    v["serial"] = serial
    v["line"] = line
    v["raw"] = raw
    v["fields"] = f
    d = _new(Denial)
    _set(d, "__dict__", v)
    return d


def _fields_careful(body: str) -> tuple[dict[str, str], str | None]:
    fields: dict[str, str] = {}
    bad = None
    for k, v in _KV.findall(body):
        c = v[:1]
        if c == '"' or c == "'":
            if len(v) > 1 and v[-1] == c:
                v = v[1:-1]
            else:
                bad, v = bad or k, v[1:]
        elif k in _HEX_KEYS and v and _IS_HEX(v):
            v = _unhex(v)
        fields[k] = v
    return fields, bad


def _fields_interpreted(body: str) -> tuple[dict[str, str], str | None]:
    """ausearch -i's form: values printed as they are, so a value may hold spaces."""
    fields: dict[str, str] = {}
    bad = last = None
    for k, v, bare in _KV_INTERPRETED.findall(body):
        if k:
            if v[:1] == '"':
                if len(v) > 1 and v[-1] == '"':
                    v = v[1:-1]
                else:
                    bad, v = bad or k, v[1:]
            fields[k] = v
            last = k
        elif last is not None:
            fields[last] = f"{fields[last]} {bare}"
    return fields, bad


def _decode(rec: _Rec) -> tuple[dict[str, str], str | None, str | None]:
    """All fields of a record: (fields, unterminated key, the inner msg='...' text if any)."""
    body = rec.body
    enriched = ""
    if "\x1d" in body:
        body, _, enriched = body.partition("\x1d")
    if "\n" in body:
        body = body.replace("\n", " ")
    inner = None
    m = body.find("msg='")
    if m >= 0:
        end = body.rfind("'")
        if end > m + 4:
            inner, body = body[m + 5:end], body[:m] + body[end + 1:]
        else:
            inner, body = body[m + 5:], body[:m]
        for esc in ("\\x0a", "#012"):
            if esc in inner:
                inner = inner.replace(esc, " ")
    fields, bad = _fields_interpreted(body) if rec.interpreted else _fields(body)
    if enriched:
        more, _ = _fields_interpreted(enriched.replace("\x1d", " "))
        fields.update(more)
    return fields, bad, inner


def _unparsed(reason: str, line: int, raw: str, rec: _Rec | None = None,
              fields: dict[str, str] | None = None) -> Denial:
    epoch = serial = None
    if rec is not None:
        try:
            epoch = rec.epoch
        except Exception:  # noqa: BLE001 - the stamp is only a hint here
            epoch = None
        serial = rec.serial
    return _denial({"kind": "unparsed", "line": line, "raw": raw, "reason": reason, "epoch": epoch,
                    "serial": serial, "fields": fields or {}})


def _infer_type(body: str) -> int:
    if "apparmor=" in body:
        return T_USER_AVC if "msg='" in body else T_AVC
    if "blockers=" in body:
        return T_LL_ACCESS
    if "domain=" in body and "status=" in body:
        return T_LL_DOMAIN
    if "syscall=" in body and "code=" in body:
        return T_SECCOMP
    return -1


_FAST = True        # tests turn the fast branches off to compare them with the general path


def _build(rec: _Rec, line: int, raw: str, merged: dict | None = None) -> Denial | None:
    t = rec.type
    if _FAST and (t == T_AVC or t == T_SECCOMP) and not rec.interpreted and rec.serial is not None:
        body = rec.body
        if not (body.count('"') & 1 or "'" in body or "\x1d" in body or "\n" in body):
            if t == T_SECCOMP:
                return _seccomp(rec, line, raw, _quick_fields(body))
            if body.startswith("apparmor="):
                fields, values = _kv(body, 0, body.count('"'), True)
                return _aa_fast(fields, values, rec.epoch, rec.serial, line, raw)
    if t == 0:
        t = _infer_type(rec.body)
    if t not in _OURS:
        return None
    if t == T_AVC and rec.body.lstrip().startswith("avc:"):
        return None                                    # SELinux
    fields, bad, inner = _decode(rec)
    if t == T_USER_AVC:
        if inner is None or "apparmor=" not in inner:
            return None                                # SELinux or another USER_AVC sender
        return _aa_record(rec, line, raw, fields, inner, t)
    if bad is not None:
        return _unparsed(f"unterminated quoted value of {bad}= (truncated record?)", line, raw, rec, fields)
    if t == T_SECCOMP:
        return _seccomp(rec, line, raw, fields)
    if t == T_LL_ACCESS:
        return _landlock(rec, line, raw, fields, merged)
    if t == T_LL_DOMAIN:
        return _landlock_domain(rec, line, raw, fields)
    return _aa_record(rec, line, raw, fields, None, t)


def _label(subj: str | None) -> str | None:
    """The AppArmor label of a subj= value, without its " (enforce)" mode."""
    if not subj or subj == "?":
        return None
    if subj.endswith(")") and " (" in subj:
        return subj[:subj.rindex(" (")]
    return subj


def _aa_record(rec: _Rec, line: int, raw: str, fields: dict[str, str], inner: str | None, t: int) -> Denial:
    get = fields.get
    if inner is not None:
        # dbus-daemon: the record's own pid/uid/exe are dbus-daemon's; msg='...' is the denial
        outer = fields
        fields, bad = _fields_interpreted(inner) if rec.interpreted else _fields(inner)
        get = fields.get
        if bad is not None:
            return _unparsed(f"unterminated quoted value of {bad}= (truncated record?)", line, raw, rec,
                             {**outer, **fields})
        for k, v in outer.items():
            fields[f"sender_{k}" if k in fields else k] = v
    mode = get("apparmor") or _AA_TYPE_MODE.get(t)
    if not mode:
        return _unparsed("AppArmor record without an apparmor= field", line, raw, rec, fields)
    mode = mode.upper()
    op = get("operation")
    word = get("class")
    cls = _CLASS_WORDS.get(word, word) if word else _OP_CLASS.get(op or "")
    family = get("family")
    if family is None:
        if cls == "network" and "name" in fields:
            cls = "file"                       # connect to a named socket, logged as a file access
    else:
        if cls == "network" and family == "unix":
            cls = "unix"
        elif cls == "file" and op in ("connect", "bind", "listen", "sendmsg", "recvmsg"):
            cls = "unix" if family == "unix" else "network"
    if cls is None and op and op.startswith("dbus"):
        cls = "dbus"
    name = get("name")
    out = {"mode": mode, "operation": op, "name": name, "family": family, "epoch": rec.epoch,
           "serial": rec.serial, "line": line, "raw": raw, "cls": cls, "fields": fields}
    pid = get("pid")
    if pid is not None:
        out["pid"] = _int(pid)
    if cls == "dbus" or t == T_USER_AVC:
        out["kind"] = "dbus"
        out["cls"] = "dbus"
        profile = get("label") or get("profile")
        # dbus-daemon logs one mask= for what was asked and refused (would be, in complain mode)
        out["requested"] = out["denied"] = get("mask")
        # comm and exe stay None: exe= here is dbus-daemon's, not the client's
    else:
        out["kind"] = "apparmor"
        profile = get("profile") or get("label")
        out["requested"] = get("requested_mask") or get("requested")
        out["denied"] = get("denied_mask") or get("denied")
        out["comm"] = get("comm")
        out["exe"] = get("exe")
        if cls == "capability":
            cap = get("capname")
            if cap is None and "capability" in fields:
                n = _int(fields["capability"])
                cap = CAPABILITIES[n] if n is not None and 0 <= n < len(CAPABILITIES) else fields["capability"]
            out["capability"] = cap
            if name is None:
                out["name"] = get("capname")   # as libapparmor reports it
    out["profile"] = profile
    tag = profile
    if cls == "status" and (not profile or profile == "unconfined"):
        tag = name
    out["snap"], out["app"] = snap_app(tag)
    return _denial(out)


def _arch(fields: dict[str, str], nr: int | None) -> tuple[str | None, str | None, str | None]:
    """(arch name, syscall table, problem) of a seccomp or SYSCALL record."""
    a = fields.get("arch")
    if a is None:
        return None, None, "no arch="
    try:
        code = int(a, 16)
    except ValueError:
        hit = _ARCH_NAMES.get(a)
        return (hit[0], hit[1], None) if hit else (a, None, None)
    if code == _ARCH_X86_64 and nr is not None and nr & _X32_BIT:
        return "x32", "x32", None
    hit = _ARCHES.get(code)
    if hit is None:
        return f"0x{code:x}", None, None
    return hit[0], hit[1], None


def _resolve(fields: dict[str, str]) -> tuple[str | None, int | None, str | None, str | None]:
    """(syscall name, number, arch, problem) of a seccomp or SYSCALL record."""
    sc = fields.get("syscall")
    if sc is None:
        return None, None, None, "no syscall="
    nr = _int(sc)
    name = None
    if nr is None:
        if not sc.isascii() or not sc.replace("_", "").isalnum() or sc[0].isdigit():
            return None, None, None, f"syscall={sc!r} is neither a number nor a name"
        name = sc                                  # ausearch -i prints the name
    elif nr < 0:
        return None, None, None, f"syscall={sc!r} is negative"
    arch, table, problem = _arch(fields, nr)
    if problem is not None:
        return None, nr, None, problem
    if table is not None:
        if name is None:
            name = _table(table).get(nr)
        else:
            nr = _syscall_number(table, name)
    if name is None:
        name = fields.get("SYSCALL")               # auditd's own interpretation, if enriched
    return name, nr, arch, None


_resolved: dict[tuple[str | None, str | None], tuple] = {}     # (syscall=, arch=) -> _resolve's answer


def _seccomp(rec: _Rec, line: int, raw: str, fields: dict[str, str]) -> Denial:
    get = fields.get
    key = (get("syscall"), get("arch"))
    hit = _resolved.get(key)
    if hit is None:
        hit = _resolve(fields)
        if hit[0] is not None and hit[3] is None and len(_resolved) < 4096:   # (a name not from SYSCALL=)
            if fields.get("SYSCALL") is None:
                _resolved[key] = hit
    name, nr, arch, problem = hit
    if problem is not None:
        return _unparsed(f"seccomp record: {problem}", line, raw, rec, fields)
    action = None
    code = fields.get("code")
    if code is not None:
        try:
            n = int(code, 16)
        except ValueError:
            action = _ACTION_WORDS.get(code.lower())
            if action is None:
                return _unparsed(f"seccomp record: code={code!r} is not an action", line, raw, rec, fields)
        else:
            n &= 0xFFFF0000
            action = ACTIONS.get(n) or f"unknown(0x{n:x})"
    profile = _label(get("subj"))
    v = _SECCOMP_TEMPLATE.copy()              # (cheaper than _denial's display and update)
    v["mode"] = "ALLOWED" if action in ("log", "allow") else "DENIED"
    v["profile"] = profile
    v["snap"], v["app"] = snap_app(profile)
    v["syscall"] = name
    v["syscall_nr"] = nr
    v["arch"] = arch
    v["action"] = action
    v["pid"] = _int(get("pid"))
    v["comm"] = get("comm")
    v["exe"] = get("exe")
    v["epoch"] = rec.epoch
    v["serial"] = rec.serial
    v["line"] = line
    v["raw"] = raw
    v["fields"] = fields
    d = _new(Denial)
    _set(d, "__dict__", v)
    return d


def _landlock(rec: _Rec, line: int, raw: str, fields: dict[str, str], merged: dict | None) -> Denial:
    blockers = fields.get("blockers")
    if not blockers:
        return _unparsed("Landlock record without blockers=", line, raw, rec, fields)
    first = blockers.split(",", 1)[0]
    cls = first.split(".", 1)[0]
    name = family = None
    if "path" in fields:
        name = fields["path"]
        if cls == "scope":
            family = "unix"
    elif cls == "net":
        addr = fields.get("daddr") or fields.get("saddr") or fields.get("faddr") or fields.get("laddr")
        port = fields.get("dest") or fields.get("src") or fields.get("fport") or fields.get("lport")
        if addr and ":" in addr:
            family, addr = "inet6", f"[{addr}]"
        elif addr:
            family = "inet"
        name = f"{addr or ''}:{port}" if port else addr
    out = {"kind": "landlock", "mode": "DENIED", "operation": blockers, "name": name, "denied": blockers,
           "family": family, "pid": _int(fields.get("pid")), "comm": fields.get("comm"),
           "exe": fields.get("exe"), "epoch": rec.epoch, "serial": rec.serial, "line": line, "raw": raw,
           "cls": cls, "fields": fields}
    if merged:
        fields = out["fields"] = dict(fields)
        sysf = merged.get("SYSCALL")
        domf = merged.get("LANDLOCK_DOMAIN")
        for prefix, extra in (("SYSCALL", sysf), ("LANDLOCK_DOMAIN", domf)):
            if extra:
                for k, v in extra.items():
                    fields[f"{prefix}.{k}"] = v
        src = sysf or domf
        out["pid"], out["comm"], out["exe"] = _int(src.get("pid")), src.get("comm"), src.get("exe")
        if sysf:
            out["syscall"], out["syscall_nr"], out["arch"], _ = _resolve(sysf)
            profile = _label(sysf.get("subj"))
            if profile:
                out["profile"] = profile
                out["snap"], out["app"] = snap_app(profile)
    return _denial(out)


def _landlock_domain(rec: _Rec, line: int, raw: str, fields: dict[str, str]) -> Denial:
    status = fields.get("status")
    if not status or "domain" not in fields:
        return _unparsed("Landlock domain record without domain= and status=", line, raw, rec, fields)
    return _denial({
        "kind": "landlock", "mode": "STATUS", "operation": f"domain_{status}", "pid": _int(fields.get("pid")),
        "comm": fields.get("comm"), "exe": fields.get("exe"), "epoch": rec.epoch, "serial": rec.serial,
        "line": line, "raw": raw, "cls": "domain", "fields": fields,
    })


# ---------------------------------------------------------------------------- public API


def _strip_eol(text: str) -> str:
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    return text


def parse_line(text: str, line: int = 1) -> Denial | None:
    """One line (or one record whose lines were joined with "\\n"): a Denial, or None for a
    line that is no confinement record. Never raises."""
    try:
        tried = False
        if text.__class__ is not str:
            text = text if isinstance(text, str) else bytes(text).decode("utf-8", "backslashreplace")
        elif _FAST:
            d = _fast(text, line)                 # (False for a line that ends with a line end)
            if d is not False:
                return d
            tried = True
        if text[-1:] == "\n" or text[-1:] == "\r":
            text = _strip_eol(text)
            tried = False
        if _FAST and not tried:
            d = _fast(text, line)
            if d is not False:
                return d
        rec = _scan(text)
        if rec is None:
            return None
        if isinstance(rec, str):
            return _unparsed(rec, line, text)
        return _build(rec, line, text)
    except Exception as exc:  # noqa: BLE001 - a log line must never stop a reader
        return _unparsed(f"internal parser error: {type(exc).__name__}: {exc}", line, str(text)[:65536])


def parse_netlink(msg_type: int, payload: str | bytes) -> Denial | None:
    """One message of the audit netlink socket: its type and its text `audit(T:S): key=value...`."""
    try:
        if not isinstance(payload, str):
            payload = bytes(payload).decode("utf-8", "backslashreplace")
        payload = payload.rstrip("\0\n")
        rec = _scan(payload, int(msg_type))
        if rec is None:
            return None
        if isinstance(rec, str):
            return _unparsed(rec, 1, payload)
        return _build(rec, 1, payload)
    except Exception as exc:  # noqa: BLE001
        return _unparsed(f"internal parser error: {type(exc).__name__}: {exc}", 1, str(payload)[:65536])


def _unterminated_msg(text: str) -> bool:
    i = text.find("msg='")
    return i >= 0 and text.find("'", i + 5) < 0 and "apparmor=" in text


def _continuation(text: str) -> str | None:
    """The fields part of a line that continues a split USER_AVC record, or None."""
    s = text.strip()
    if not s or "audit(" in s or _LOOKS_LIKE.search(s):
        return None
    i = s.find("exe=")
    if i > 0:
        head = s[:i]
        m = _transport_match(head)
        if m is None or head[m.end():].strip():
            return None
        return s[i:]
    if i == 0 or s.endswith("'"):
        m = _transport_match(s)
        rest = s[m.end():] if m else s
        return rest if "=" in rest else None
    return None


class DenialStream:
    """Feed lines (or netlink messages) as they come; get the Denials they complete.

    A USER_AVC split by its embedded newline is held until its next line; a
    Landlock access record until its event's SYSCALL record, the event's end
    (EOE), a record of another event, or flush(). A source following a log
    calls flush() when no line came for a while. The same event seen twice
    (same stamp, type and text: journald's kernel and audit transports, or a
    netlink and a kmsg reader) is given once; a record without a stamp
    (journald's audit transport) is matched by type and text.
    """

    WINDOW = 4096

    @property
    def pending(self) -> bool:
        """Whether records are held back (flush() gives them)."""
        return bool(self._pending) or self._join is not None

    def __init__(self) -> None:
        self.line = 0
        self._join: tuple[int, str] | None = None
        self._pending: list[tuple[_Rec, int, str]] = []
        self._pending_event: tuple | None = None
        self._merged: dict[str, dict[str, str]] = {}
        self._domains: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._stamped: OrderedDict[tuple, int] = OrderedDict()
        self._stampless: OrderedDict[tuple, int] = OrderedDict()

    # -- input

    def feed(self, text: str, line: int | None = None) -> list[Denial]:
        """One line of a log; `line` defaults to one more than the previous line."""
        try:
            if not isinstance(text, str):
                text = bytes(text).decode("utf-8", "backslashreplace")
            self.line = line if line is not None else self.line + 1
            return self._feed(_strip_eol(text), self.line)
        except Exception as exc:  # noqa: BLE001
            self._join = None
            return [_unparsed(f"internal parser error: {type(exc).__name__}: {exc}", self.line, str(text)[:65536])]

    def feed_netlink(self, msg_type: int, payload: str | bytes) -> list[Denial]:
        """One audit netlink message."""
        try:
            if not isinstance(payload, str):
                payload = bytes(payload).decode("utf-8", "backslashreplace")
            payload = payload.rstrip("\0\n")
            self.line += 1
            rec = _scan(payload, int(msg_type))
            return self._record(rec, self.line, payload)
        except Exception as exc:  # noqa: BLE001
            return [_unparsed(f"internal parser error: {type(exc).__name__}: {exc}", self.line, str(payload)[:65536])]

    def flush(self) -> list[Denial]:
        """Give what is held back (a split record's first half, Landlock records)."""
        out: list[Denial] = []
        try:
            if self._join is not None:
                lineno, text = self._join
                self._join = None
                out += self._record(_scan(text), lineno, text)
            out += self._release()
        except Exception as exc:  # noqa: BLE001
            self._pending, self._join = [], None
            out.append(_unparsed(f"internal parser error: {type(exc).__name__}: {exc}", self.line, ""))
        return out

    # -- machinery

    def _feed(self, text: str, lineno: int) -> list[Denial]:
        out: list[Denial] = []
        if self._join is not None:
            first_line, first = self._join
            rest = _continuation(text)
            if rest is not None:
                joined = f"{first}\n{text}"
                self._join = None
                rec = _scan(joined)
                if isinstance(rec, _Rec):
                    rec.body = rec.body.split("\n", 1)[0] + " " + rest
                return self._record(rec, first_line, joined)
            self._join = None
            out += self._record(_scan(first), first_line, first)
        if _unterminated_msg(text):
            self._join = (lineno, text)
            return out
        out += self._record(_scan(text), lineno, text)
        return out

    def _record(self, rec: _Rec | str | None, lineno: int, raw: str) -> list[Denial]:
        if rec is None:
            return []
        if isinstance(rec, str):
            return [*self._release(), _unparsed(rec, lineno, raw)]
        out: list[Denial] = []
        event = (rec.stamp, rec.serial) if rec.serial is not None else None
        if self._pending and event != self._pending_event:
            out += self._release()
        if self._duplicate(rec):
            return out
        t = rec.type
        if t == 0:
            t = rec.type = _infer_type(rec.body)
        if t == T_LL_ACCESS and event is not None:
            self._pending.append((rec, lineno, raw))
            self._pending_event = event
            return out
        if t == T_LL_DOMAIN:
            fields, _, _ = _decode(rec)
            dom = fields.get("domain")
            if fields.get("status") == "allocated" and dom:
                self._domains[dom] = fields
                if len(self._domains) > self.WINDOW:
                    self._domains.popitem(last=False)
                if self._pending and event == self._pending_event:
                    self._merged["LANDLOCK_DOMAIN"] = fields
                    return out
        elif t == T_SYSCALL:
            if self._pending and event == self._pending_event:
                self._merged["SYSCALL"] = _decode(rec)[0]
                out += self._release()
            return out
        elif t == T_EOE:
            return out + self._release()
        d = _build(rec, lineno, raw)
        if d is not None:
            out.append(d)
        return out

    def _release(self) -> list[Denial]:
        if not self._pending:
            return []
        pending, merged = self._pending, self._merged
        self._pending, self._merged, self._pending_event = [], {}, None
        out = []
        for rec, lineno, raw in pending:
            m = merged
            if "SYSCALL" not in m and "LANDLOCK_DOMAIN" not in m:
                fields, _, _ = _decode(rec)
                dom = self._domains.get(fields.get("domain", ""))
                m = {"LANDLOCK_DOMAIN": dom} if dom else {}
            d = _build(rec, lineno, raw, m)
            if d is not None:
                out.append(d)
        return out

    def _duplicate(self, rec: _Rec) -> bool:
        if rec.type not in _OURS and rec.type not in (0, T_SYSCALL):
            return False
        core = rec.core()
        ckey = (rec.type, core)
        if rec.serial is not None:
            key = (rec.stamp, rec.serial, rec.type, core)
            if key in self._seen:
                return True
            self._seen[key] = None
            if len(self._seen) > self.WINDOW:
                self._seen.popitem(last=False)
            if rec.type == T_SYSCALL:
                return False
            if self._take(self._stampless, ckey):
                return True
            self._put(self._stamped, ckey)
            return False
        if self._take(self._stamped, ckey):
            return True
        self._put(self._stampless, ckey)
        return False

    def _take(self, store: OrderedDict, key: tuple) -> bool:
        n = store.get(key)
        if not n:
            return False
        if n == 1:
            del store[key]
        else:
            store[key] = n - 1
        return True

    def _put(self, store: OrderedDict, key: tuple) -> None:
        store[key] = store.get(key, 0) + 1
        if len(store) > self.WINDOW:
            store.popitem(last=False)


def parse_stream(lines: Iterable[str]) -> Iterator[Denial]:
    """Denials of an iterable of lines (a file object works; line ends are stripped)."""
    stream = DenialStream()
    for text in lines:
        yield from stream.feed(text)
    yield from stream.flush()


def parse_text(text: str) -> Iterator[Denial]:
    """Denials of a whole text, split on "\\n" only (str.splitlines() would also split at the
    0x1D byte auditd puts before its enriched fields)."""
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8", "backslashreplace")
    return parse_stream(text.split("\n"))
