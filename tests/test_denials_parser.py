"""The audit record parser against the corpus in tests/data/denials/corpus.json.

Every corpus entry is parsed as a stream (parse_text, or DenialStream.feed_netlink for
netlink messages) and must give exactly its expected records, each matching the
expected subset of keys. Further tests pin single behaviours: line splitting, the
API's entry points, JSON keys, duplicates, Landlock events, lazy tables.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from backends.model import DENIAL_KEYS, Denial
from backends.native.denials.parser import DenialStream, parse_line, parse_netlink, parse_stream, parse_text
from backends.native.denials.parser import snap_app, syscall_name

CORPUS_PATH = Path(__file__).parent / "data" / "denials" / "corpus.json"
CORPUS = json.loads(CORPUS_PATH.read_text())

FORMS = ("netlink", "kmsg", "kmsg-pri", "dmesg", "dmesg-T", "syslog", "rfc3339", "auditd", "auditd-enriched",
         "auditd-new", "journald-kernel", "journald-audit", "ausearch-i")
CLASSES = ("file", "capability", "network", "unix", "signal", "ptrace", "mount", "dbus", "userns", "status",
           "seccomp", "landlock", "unparsed", "skipped")


def parse_entry(entry: dict) -> list[Denial]:
    if "netlink" in entry:
        stream = DenialStream()
        out: list[Denial] = []
        for msg_type, payload in entry["netlink"]:
            out += stream.feed_netlink(msg_type, payload)
        return out + stream.flush()
    return list(parse_text(entry["input"]))


def view(d: Denial) -> dict:
    out = d.to_json()
    out["cls"] = d.cls
    return out


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_corpus_entry(entry):
    got = [view(d) for d in parse_entry(entry)]
    want = entry["expected"]
    assert len(got) == len(want), f"{len(got)} records, expected {len(want)}: {got}"
    for g, w in zip(got, want):
        for key, value in w.items():
            if key == "reason":
                assert value in (g.get("reason") or ""), (key, g)
            else:
                assert g.get(key) == value, f"{key}: got {g.get(key)!r}, expected {value!r}\n{g}"


def test_corpus_size_and_coverage():
    records = sum(len(e["expected"]) for e in CORPUS)
    assert records >= 150
    forms = Counter(e["form"] for e in CORPUS)
    classes = Counter(e["class"] for e in CORPUS)
    assert set(FORMS) <= set(forms), set(FORMS) - set(forms)
    assert set(CLASSES) <= set(classes), set(CLASSES) - set(classes)
    # every AppArmor class is seen in several transports
    for cls in ("file", "capability", "network", "unix", "signal", "ptrace", "mount", "dbus", "userns"):
        assert len({e["form"] for e in CORPUS if e["class"] == cls}) >= 3, cls
    modes = {w.get("mode") for e in CORPUS for w in e["expected"]}
    assert {"DENIED", "ALLOWED", "AUDIT", "STATUS"} <= modes
    arches = {w.get("arch") for e in CORPUS for w in e["expected"]}
    assert {"x86_64", "i386", "x32", "arm", "aarch64"} <= arches
    actions = {w.get("action") for e in CORPUS for w in e["expected"]}
    assert {"errno", "log", "kill_process", "kill_thread", "trap", "user_notif", "trace"} <= actions


def test_every_corpus_line_parses_alone_without_raising():
    for entry in CORPUS:
        for i, line in enumerate(entry.get("input", "").split("\n"), 1):
            d = parse_line(line, i)
            assert d is None or isinstance(d, Denial)
            if d is not None and d.kind == "unparsed":
                assert not d.reason.startswith("internal"), (entry["id"], d.reason)


def test_json_keys_are_exactly_the_issues():
    d = parse_line('type=AVC msg=audit(1795462400.501:501): apparmor="DENIED" operation="open" '
                   'profile="snap.a.b" name="/x" pid=1 comm="b" requested_mask="r" denied_mask="r"', 7)
    j = d.to_json()
    assert list(j) == [*DENIAL_KEYS, "line", "raw"]
    assert j["line"] == 7 and j["raw"].startswith("type=AVC")
    bad = parse_line("audit: type=1400 audit(1:2): apparmor=\"DENIED\" name=\"/x")
    assert list(bad.to_json()) == [*DENIAL_KEYS, "line", "raw", "reason"]
    json.dumps(j)
    json.dumps(bad.to_json())


def test_split_on_newline_only_keeps_enriched_fields():
    text = ('type=SECCOMP msg=audit(1795462400.634:634): auid=1000 uid=1000 gid=1000 ses=3 pid=1 comm="x" '
            'exe="/x" sig=0 arch=c000003e syscall=165 compat=0 ip=0x1 code=0x50000\x1dAUID="alice" ARCH=x86_64 '
            'SYSCALL=mount\n')
    assert len(text.splitlines()) == 2          # what str.splitlines() would do
    out = list(parse_text(text))
    assert len(out) == 1
    assert out[0].fields["AUID"] == "alice" and out[0].fields["SYSCALL"] == "mount"
    assert out[0].syscall == "mount"


def test_line_numbers_and_raw_of_a_split_record():
    text = ("noise\n"
            "type=USER_AVC msg=audit(1795462400.700:700): pid=845 uid=103 msg='apparmor=\"DENIED\" "
            "operation=\"dbus_bind\"  bus=\"session\" name=\"org.a\" mask=\"bind\" pid=9 label=\"snap.a.a\"\n"
            " exe=\"/usr/bin/dbus-daemon\" sauid=103 hostname=? addr=? terminal=?'\n"
            "more noise\n")
    (d,) = parse_text(text)
    assert d.line == 2
    assert d.raw.count("\n") == 1 and d.raw.endswith("terminal=?'")
    assert d.fields["exe"] == "/usr/bin/dbus-daemon" and d.fields["sender_pid"] == "845"
    assert d.exe is None and d.pid == 9


def test_parse_stream_takes_file_lines(tmp_path):
    p = tmp_path / "kern.log"
    p.write_text("\n".join(e["input"] for e in CORPUS if e.get("form") == "syslog" and "input" in e) + "\n")
    with p.open() as fh:
        out = list(parse_stream(fh))
    assert len(out) >= 20 and all(isinstance(d, Denial) for d in out)


def test_parse_netlink_single_messages():
    d = parse_netlink(1326, b"audit(1795462337.896:1279): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1808 "
                            b"comm=\"trig\" exe=\"/t\" sig=0 arch=c000003e syscall=272 compat=0 ip=0x1 "
                            b"code=0x50000\x00")
    assert (d.kind, d.syscall, d.action, d.serial) == ("seccomp", "unshare", "errno", 1279)
    assert parse_netlink(1300, "audit(1:2): arch=c000003e syscall=1 success=yes") is None
    assert parse_netlink(1320, "audit(1:2): ") is None
    assert parse_netlink(1400, "garbage").kind == "unparsed"


def test_landlock_record_held_until_its_event_ends_or_flush():
    s = DenialStream()
    first = s.feed('audit: type=1423 audit(10.000:5): domain=1a blockers=fs.write_file path="/x" dev="a" ino=1')
    assert first == []                      # held: the SYSCALL record may follow
    out = s.flush()
    assert [d.operation for d in out] == ["fs.write_file"] and out[0].pid is None
    # the domain's allocation record gives a later record its creator when no SYSCALL comes
    s.feed('audit: type=1423 audit(11.000:6): domain=1b blockers=fs.read_file path="/y" dev="a" ino=2')
    s.feed('audit: type=1424 audit(11.000:6): domain=1b status=allocated mode=enforcing pid=42 uid=0 '
           'exe="/bin/app" comm="app"')
    (d,) = s.feed('audit: type=1423 audit(12.000:7): domain=1b blockers=fs.read_dir path="/z" dev="a" ino=3')
    assert (d.name, d.pid, d.comm) == ("/y", 42, "app")
    (d2,) = s.flush()
    assert (d2.name, d2.pid, d2.fields["LANDLOCK_DOMAIN.exe"]) == ("/z", 42, "/bin/app")


def test_snap_app_mapping():
    assert snap_app("snap.foo.bar") == ("foo", "bar")
    assert snap_app("snap.foo.hook.configure") == ("foo", "hook.configure")
    assert snap_app("snap.foo.hook") == ("foo", "hook")
    assert snap_app("snap.foo_x1.bar (enforce)") == ("foo_x1", "bar")
    assert snap_app("snap.foo.bar//null-/bin/x") == ("foo", "bar")
    assert snap_app("snap-update-ns.foo") == ("foo", None)
    for other in ("unconfined", "/usr/sbin/cupsd", "snap.Foo.bar", "snap..x", "snap.a.b.c", "", None):
        assert snap_app(other) == (None, None), other


def test_syscall_tables():
    assert syscall_name("x86_64", 0) == "read"
    assert syscall_name("i386", 11) == "execve"
    assert syscall_name("x32", 0x40000000 + 514) == "ioctl"
    assert syscall_name("arm", 0x0F0005) == "set_tls"
    assert syscall_name("aarch64", 221) == "execve"
    assert syscall_name("x86_64", 468) == "file_getattr"
    assert syscall_name("x86_64", 99999) is None
    assert syscall_name("vax", 1) is None


def test_import_is_light_and_tables_lazy():
    code = ("import sys, time\n"
            "t = time.perf_counter()\n"
            "import backends.native.denials.parser as p\n"
            "dt = time.perf_counter() - t\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'rich', 'yaml', 'pyseccomp', 'ctypes', 'json', 'watchdog', 'psutil'))\n"
            "print(bad, p._tables, round(dt * 1000))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, check=True).stdout.split("] ")
    assert out[0] == "[" and out[1].startswith("{}")


def _general(text: str, line: int = 1):
    from backends.native.denials import parser as p
    p._FAST = False
    try:
        rec = p._scan(text)
        if rec is None or isinstance(rec, str):
            return rec
        return p._build(rec, line, text)
    finally:
        p._FAST = True


def _same(a: Denial, b: Denial) -> bool:
    return (a.to_json(), a.cls, a.fields) == (b.to_json(), b.cls, b.fields)


def test_fast_path_gives_what_the_general_path_gives():
    from backends.native.denials import parser as p
    taken = 0
    for entry in CORPUS:
        for i, line in enumerate(entry.get("input", "").split("\n"), 1):
            parse_line(line)                          # fills the type cache
            fast = p._fast(line, i)
            if fast is not False:
                taken += 1
                assert _same(fast, _general(line, i)), line
                if fast is not None:
                    assert vars(fast).keys() == Denial.__dataclass_fields__.keys()
    assert taken >= 100


def test_stream_fast_branch_gives_what_the_general_path_gives():
    from backends.native.denials import parser as p
    text = "\n".join(e["input"] for e in CORPUS if "input" in e)
    fast = list(parse_text(text))
    p._FAST = False
    try:
        slow = list(parse_text(text))
    finally:
        p._FAST = True
    assert len(fast) == len(slow) > 100          # one per event: the transports of a record are duplicates
    for a, b in zip(fast, slow):
        assert _same(a, b), a.raw
        assert vars(a).keys() == Denial.__dataclass_fields__.keys()


def test_pending_says_what_is_held_back():
    s = DenialStream()
    assert not s.pending
    s.feed('audit: type=1423 audit(10.000:5): domain=1a blockers=fs.write_file path="/x" dev="a" ino=1')
    assert s.pending
    s.flush()
    assert not s.pending
    s.feed("type=USER_AVC msg=audit(1.000:9): pid=1 uid=2 msg='apparmor=\"DENIED\" operation=\"dbus_bind\" "
           "name=\"a.b\" mask=\"bind\" pid=3 label=\"snap.a.a\"")
    assert s.pending
    assert [d.kind for d in s.flush()] == ["dbus"]


def test_layouts_give_what_the_pair_scan_gives():
    # each corpus record twice: the first learns its layout, the second is decoded by it
    from backends.native.denials import parser as p
    p._layouts.clear()
    p._irregular.clear()
    p._layouts_made = 0
    checked = 0
    for entry in CORPUS:
        for line in entry.get("input", "").split("\n"):
            m = p._STAMP_NUM(line, max(line.find("audit("), 0))
            if m is None or line.count('"', m.end()) & 1:
                continue
            e = m.end()
            want = p._scan_fields(line, e)
            if "subj" in want and " (" in line:
                sm = p._SUBJ_MODE.search(line, e)
                if sm:
                    want["subj"] = sm.group(1)
            for _ in range(2):
                fields, values = p._kv(line, e, line.count('"', e), True)
                assert fields == want, line
                assert values == tuple(map(want.get, p._AA_KEYS)), line
            checked += 1
    assert checked > 100 and sum(map(len, p._layouts.values())) > 20


def test_a_serial_longer_than_a_u64_is_a_malformed_stamp():
    """int() refuses numbers of over 4,300 digits; such a serial is no audit serial (a u64)."""
    from backends.native.denials import parse_lines

    for line in ('type=1400 audit(1.2:' + '9' * 5000 + '): apparmor="DENIED" operation="open"',
                 'type=1326 audit(1.2:' + '9' * 21 + '): pid=1 syscall=2'):
        (rec,) = parse_lines([line])
        assert rec.kind == "unparsed" and "stamp" in rec.reason, rec
