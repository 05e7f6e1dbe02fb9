"""Hypothesis fuzzing of the audit record parser: no input raises, every result is a Denial.

The parser catches everything as a last resort (kind unparsed, reason "internal
parser error"), so these tests also require that this net is never needed: an
internal error is a bug found. Inputs: arbitrary text; records built from the
grammar of real ones (transport prefixes, types, stamps, known keys, quoted, bare,
hex, unterminated values); corpus lines with random edits; random line sequences
fed to one DenialStream (split records, Landlock events, duplicates).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.model import Denial
from backends.native.denials import parser
from backends.native.denials.parser import DenialStream, parse_line, parse_netlink, parse_text

CORPUS = json.loads((Path(__file__).parent / "data" / "denials" / "corpus.json").read_text())
LINES = [ln for e in CORPUS for ln in e.get("input", "").split("\n") if ln] + \
        [p for e in CORPUS for _, p in e.get("netlink", [])]

# CONFINE_FUZZ_EXAMPLES=20000 for a longer hunt
SETTINGS = settings(max_examples=int(os.environ.get("CONFINE_FUZZ_EXAMPLES", "400")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

PREFIXES = ["", "audit: ", "5,12,345,-;audit: ", "<5>", "[ 12.345678] audit: ", "[Mon Nov 23 19:33:20 2026] ",
            "Nov 23 19:33:20 host kernel: [ 1.5] audit: ", "2026-11-23T19:33:20.1+00:00 h kernel: audit: ",
            "node=h ", "Nov 23 19:33:20 h audit[12]: ", "h dbus-daemon[9]: [system] ", "MESSAGE="]
TYPES = ["type=1400 ", "type=1107 ", "type=1326 ", "type=1423 ", "type=1424 ", "type=1300 ", "type=1320 ",
         "type=AVC msg=", "type=USER_AVC msg=", "type=SECCOMP msg=", "type=UNKNOWN[1423] msg=",
         "type=LANDLOCK_DOMAIN msg=", "type=APPARMOR_DENIED msg=", "type= ", "type=UNKNOWN[x] msg=", "",
         "AVC ", "USER_AVC ", "SECCOMP ", "LANDLOCK_ACCESS "]
KEYS = ["apparmor", "operation", "class", "profile", "label", "name", "name2", "pid", "comm", "exe",
        "requested_mask", "denied_mask", "requested", "denied", "mask", "capability", "capname", "family",
        "sock_type", "protocol", "peer", "signal", "subj", "arch", "syscall", "code", "compat", "sig",
        "blockers", "domain", "status", "path", "daddr", "dest", "src", "saddr", "opid", "ocomm", "msg",
        "SYSCALL", "ARCH", "info", "fstype", "srcname", "flags", "bus", "member", "peer_label"]
WORDS = ["DENIED", "ALLOWED", "AUDIT", "STATUS", "open", "capable", "dbus_method_call", "userns_create",
         "snap.foo.bar", "snap.foo.hook.install", "snap.a_b.c (enforce)", "c000003e", "40000003", "c00000b7",
         "40000028", "deadbeef", "0x50000", "0x7ffc0000", "0x80000000", "0x0", "zz", "1073741863", "-1",
         "99999999999999999999", "fs.write_file", "net.connect_tcp", "allocated", "deallocated", "unix",
         "inet6", "::1", "(null)", "?", "", "2F746D70", "002F78", "C3", "ABC", "x y"]


def check(d) -> None:
    assert d is None or isinstance(d, Denial), d
    if d is not None:
        assert not (d.reason or "").startswith("internal parser error"), (d.reason, d.raw)
        json.dumps(d.to_json())


def value():
    word = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
    return st.one_of(
        word,
        word.map(lambda w: f'"{w}"'),
        word.map(lambda w: f"'{w}'"),
        word.map(lambda w: '"' + w),                                   # unterminated
        st.binary(max_size=8).map(lambda b: b.hex().upper()),          # hex
        st.text(max_size=6).map(lambda w: w.encode("utf-8", "surrogatepass").hex().upper()),
    )


@st.composite
def records(draw):
    stamp = draw(st.one_of(
        st.builds(lambda e, f, s: f"audit({e}.{f}:{s}): ", st.integers(0, 2 ** 40), st.integers(0, 999),
                  st.integers(0, 2 ** 64)),
        st.sampled_from(["audit(11/23/2026 19:33:20.100:5) : ", "audit(1:2):", "audit(:)", "audit(", "",
                         "audit(1.5:x): ", "audit((1:2)): "]),
    ))
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), value()), max_size=12))
    body = " ".join(f"{k}={v}" for k, v in pairs)
    if draw(st.booleans()):
        body = f"pid=1 msg='{body}" + draw(st.sampled_from(["'", "", "\n exe=\"/x\"'", "\\x0a exe=1'", "#012'"]))
    if draw(st.booleans()):
        body += "\x1d" + draw(st.sampled_from(['AUID="a" SYSCALL=ptrace', "ARCH=x86_64", "", "\x1d"]))
    return draw(st.sampled_from(PREFIXES)) + draw(st.sampled_from(TYPES)) + stamp + body


@SETTINGS
@given(st.text())
def test_arbitrary_text(text):
    check(parse_line(text))
    for d in parse_text(text):
        check(d)


@SETTINGS
@given(st.integers(-(2 ** 40), 2 ** 40), st.one_of(st.text(), st.binary()))
def test_arbitrary_netlink(msg_type, payload):
    check(parse_netlink(msg_type, payload))
    s = DenialStream()
    for d in s.feed_netlink(msg_type, payload) + s.flush():
        check(d)


@SETTINGS
@given(records(), st.integers(1, 10 ** 6))
def test_grammar_records(text, line):
    d = parse_line(text, line)
    check(d)
    fast = parser._fast(text.rstrip("\r\n"), line)
    if fast is not False:                       # the fast path agrees with the general one
        rec = parser._scan(text.rstrip("\r\n"))
        parser._FAST = False
        try:
            slow = parser._build(rec, line, text.rstrip("\r\n")) if isinstance(rec, parser._Rec) else rec
        finally:
            parser._FAST = True
        if fast is None or slow is None or isinstance(slow, str):
            assert fast is None and slow is None
        else:
            assert (fast.to_json(), fast.cls, fast.fields) == (slow.to_json(), slow.cls, slow.fields)
            assert vars(fast).keys() == Denial.__dataclass_fields__.keys()
    if d is not None:
        assert d.line == line and d.raw == text.rstrip("\r\n")[:len(d.raw)]
    for d in parse_text(text):
        check(d)
    check(parse_netlink(1400, text))


@SETTINGS
@given(st.sampled_from(LINES), st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 8),
                                                   st.text(max_size=4)), max_size=4))
def test_mutated_corpus_lines(line, edits):
    for pos, cut, ins in edits:
        pos %= len(line) + 1
        line = line[:pos] + ins + line[pos + cut:]
    check(parse_line(line))
    check(parse_netlink(1326, line))


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(LINES), records(), st.text(max_size=40)), max_size=30),
       st.lists(st.booleans(), max_size=30))
def test_streams(lines, flushes):
    s = DenialStream()
    out = []
    for i, line in enumerate(lines):
        out += s.feed(line)
        if i < len(flushes) and flushes[i]:
            out += s.flush()
    out += s.flush()
    for d in out:
        check(d)
    assert all(1 <= d.line <= max(len(lines), 1) for d in out)



def _pairs_scan(s: str, e: int) -> dict:
    """What parser._kv gives, worked out without layouts (the pair scan, then the subj mode)."""
    fields = parser._scan_fields(s, e)
    if "subj" in fields and " (" in s:
        m = parser._SUBJ_MODE.search(s, e)
        if m:
            fields["subj"] = m.group(1)
    return fields


# mostly regular keys, values and separators (so that layouts are learnt and used), some not
REGULAR_BARE = st.one_of(st.sampled_from(WORDS).filter(lambda w: " " not in w),
                         st.from_regex(r'[!#-~]{0,8}', fullmatch=True),
                         st.binary(max_size=6).map(lambda b: b.hex().upper()))
BARE = st.one_of(REGULAR_BARE, REGULAR_BARE, REGULAR_BARE,
                 st.from_regex(r'[!#-~]{1,4}[ \t="][!#-~]{0,4}', fullmatch=True), st.text(max_size=8))
QUOTED = st.one_of(st.sampled_from(WORDS), st.from_regex(r'[ !#-~]{0,10}', fullmatch=True), st.text(max_size=10))
SEPARATORS = st.one_of(*[st.just(" ")] * 6,
                       st.sampled_from(["  ", " (enforce) ", " (complain)", "\t", ", ", "", " x ", " (bogus) "]))
KEY = st.one_of(st.sampled_from(KEYS), st.from_regex(r"(?a)[A-Za-z_][\w.\-]{0,5}", fullmatch=True))


@SETTINGS
@given(st.lists(st.tuples(KEY, st.booleans(), SEPARATORS), min_size=1, max_size=10),
       st.lists(st.tuples(BARE, QUOTED), min_size=30, max_size=30),
       st.sampled_from(["", "type=1400 audit(1.2:3): ", "x "]))
def test_layouts_decode_what_the_pair_scan_decodes(layout, values, prefix):
    # a fresh table, so that each example learns its own layouts
    parser._layouts.clear()
    parser._irregular.clear()
    parser._layouts_made = 0
    bodies = []
    for n in range(3):                     # the same keys, quoting and separators; other values
        parts = []
        for i, (key, quoted, sep) in enumerate(layout):
            bare, text = values[(n * 10 + i) % len(values)]
            parts.append((f'{key}="{text}"' if quoted else f"{key}={bare}") + sep)
        bodies.append("".join(parts))
    for body in bodies + bodies:
        s = prefix + body
        if s.count('"') & 1:
            continue
        e = len(prefix)
        assert parser._kv(s, e, s.count('"', e)) == _pairs_scan(s, e), s
