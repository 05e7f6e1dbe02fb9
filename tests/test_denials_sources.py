"""Sources of denial records that need no privilege: log files followed across rotation
and truncation, journal exports, standard input; the audit switch's holder logic (with
the kernel calls replaced); and `confine denials parse`."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backends.native.denials import audit
from backends.native.denials.feed import Feed
from backends.native.denials.sources import (FileSource, JournalExport, SourceUnavailable, StreamSource,
                                             make_source, open_source)
from denials_support import REPO, denials_cli, env

SECCOMP = ('type=SECCOMP msg=audit({t}:{s}): auid=0 uid=0 gid=0 ses=1 pid={pid} comm="x" exe="/usr/bin/x" sig=0 '
           'arch=c000003e syscall=41 compat=0 ip=0x1 code=0x50000')


def rec(serial: int, pid: int = 4242) -> str:
    return SECCOMP.format(t=f"1700000000.{serial % 1000:03d}", s=serial, pid=pid)


class Collector:
    """Follow a FileSource in a thread; records as they come."""

    def __init__(self, src):
        self.src = src
        self.got = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for r in self.src.records():
            if r is not None:
                self.got.append(r)

    def wait(self, n: int, timeout: float = 10) -> list:
        deadline = time.time() + timeout
        while len(self.got) < n and time.time() < deadline:
            time.sleep(0.02)
        return self.got

    def stop(self):
        self.src.stop()
        self.thread.join(5)
        self.src.close()


def append(path: Path, *lines: str) -> None:
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


def test_follow_a_file_across_appends_rotation_and_truncation(tmp_path):
    log = tmp_path / "audit.log"
    append(log, rec(1), rec(2))                       # before: not shown when following from the end
    src = FileSource(str(log)).open(follow=True)
    c = Collector(src)
    try:
        time.sleep(0.2)
        append(log, rec(3))
        got = c.wait(1)
        assert [r.text for r in got] == [rec(3)] and got[0].line == 3 and got[0].type == 1326
        # a partial line waits for its end
        with open(log, "a") as f:
            f.write(rec(4)[:40])
        time.sleep(0.3)
        assert len(c.got) == 1
        with open(log, "a") as f:
            f.write(rec(4)[40:] + "\n")
        assert c.wait(2)[1].text == rec(4)
        # rotation: renamed away, a new file at the same path; the old one's last lines are not lost
        append(log, rec(5))
        os.rename(log, tmp_path / "audit.log.1")
        append(tmp_path / "audit.log.1", rec(6))        # written to the old file after the rename
        append(log, rec(7))
        got = c.wait(5)
        assert [r.text for r in got[2:5]] == [rec(5), rec(6), rec(7)]
        assert got[4].line == 1                         # numbered in the new file
        # truncation (copytruncate): read again from the start, also when the file grew back
        # to the same size before the follower looked (the first bytes tell)
        with open(log, "w"):
            pass
        append(log, rec(8))
        got = c.wait(6)
        assert got[5].text == rec(8) and got[5].line == 1
        assert any("rotated" in n for n in src.notes) and any("truncated" in n for n in src.notes)
    finally:
        c.stop()


def test_follow_a_file_that_does_not_exist_yet(tmp_path):
    log = tmp_path / "later.log"
    src = FileSource(str(log)).open(follow=True)
    c = Collector(src)
    try:
        append(log, rec(9))
        assert [r.text for r in c.wait(1)] == [rec(9)]
        assert any("does not exist yet" in n for n in src.notes)
    finally:
        c.stop()


def test_read_a_whole_file_with_line_numbers_and_the_0x1d_separator(tmp_path):
    log = tmp_path / "audit.log"
    enriched = rec(10) + "\x1dARCH=x86_64 SYSCALL=socket"
    log.write_text(f"{rec(1)}\n\n{enriched}\n{rec(11)}")        # no final newline
    src = FileSource(str(log)).open(follow=False)
    got = list(src.records())
    assert [(r.line, r.text) for r in got if r.text] == [(1, rec(1)), (3, enriched), (4, rec(11))]


def _export_entry(fields: dict) -> bytes:
    out = b""
    for k, v in fields.items():
        v = v.encode() if isinstance(v, str) else v
        if b"\n" in v:
            out += k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            out += k.encode() + b"=" + v + b"\n"
    return out + b"\n"


def test_journal_export_kernel_and_audit_transports():
    kernel = _export_entry({"__CURSOR": "s=1", "__REALTIME_TIMESTAMP": "1700000000000000", "_TRANSPORT": "kernel",
                            "MESSAGE": "audit: " + rec(1).replace("type=SECCOMP msg=", "type=1326 ")})
    aud = _export_entry({"__CURSOR": "s=2", "_TRANSPORT": "audit", "_AUDIT_TYPE": "1326",
                         "_AUDIT_TYPE_NAME": "SECCOMP", "_AUDIT_ID": "77",
                         "_SOURCE_REALTIME_TIMESTAMP": "1700000001250000",
                         "MESSAGE": 'SECCOMP auid=0 uid=0 gid=0 ses=1 pid=7 comm="x" exe="/x" sig=0 arch=c000003e '
                                    "syscall=41 compat=0 ip=0x1 code=0x50000"})
    binary = _export_entry({"__CURSOR": "s=3", "_TRANSPORT": "kernel", "MESSAGE": "two\nlines"})
    data = kernel + aud + binary
    j = JournalExport()
    out = []
    for i in range(0, len(data), 7):                         # fed in small pieces
        out += j.feed(data[i:i + 7])
    assert [n for n, _ in out] == [1, 2, 3]
    assert out[0][1].startswith("audit: type=1326 audit(1700000000.001:1)")
    assert out[1][1].startswith("type=1326 msg=audit(1700000001.250:77): auid=0")
    assert out[2][1] == "two lines"
    # through the feed: both decode as seccomp denials
    from backends.native.denials.parser import parse_line

    assert parse_line(out[1][1]).syscall == "socket"


def test_stdin_source(tmp_path):
    r, w = os.pipe()
    os.write(w, (rec(1) + "\n" + rec(2)).encode())
    os.close(w)
    src = StreamSource(r).open()
    got = [x for x in src.records() if x is not None]
    os.close(r)
    assert [(x.line, x.text) for x in got] == [(1, rec(1)), (2, rec(2))]


def test_unusable_sources_say_why(tmp_path):
    with pytest.raises(SourceUnavailable, match="does not exist"):
        make_source(f"file:{tmp_path}/none").open(follow=False)
    with pytest.raises(SourceUnavailable, match="is a directory"):
        make_source(f"file:{tmp_path}").open(follow=False)
    with pytest.raises(SourceUnavailable, match="unknown source"):
        make_source("carrier-pigeon")
    with pytest.raises(SourceUnavailable, match="no history"):
        open_source("netlink", follow=False)


def test_feed_over_a_followed_file_explains_and_stops(tmp_path):
    log = tmp_path / "kern.log"
    log.write_text("")
    feed = Feed(tmp_path / "root", f"file:{log}", follow=True)
    got = []
    feed.start()
    t = threading.Thread(target=lambda: got.extend(feed), daemon=True)
    t.start()
    try:
        time.sleep(0.2)
        append(log, "Jan 31 12:00:00 host kernel: [  10.5] audit: " + rec(5).replace("type=SECCOMP msg=", "type=1326 "))
        deadline = time.time() + 10
        while not got and time.time() < deadline:
            time.sleep(0.02)
    finally:
        feed.stop()
        t.join(5)
        feed.close()
    assert not t.is_alive()
    assert got and got[0].syscall == "socket" and "socket()" in got[0].explanation


# ---- the audit switch, with the kernel calls replaced ----------------------------------------


class FakeKernel:
    def __init__(self, enabled=0):
        self.enabled = enabled
        self.calls = []

    def status(self):
        return audit.AuditStatus(self.enabled, 1, 0, 0, 64, 0, 0)

    def set(self, value):
        self.calls.append(value)
        self.enabled = value


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    k = FakeKernel()
    monkeypatch.setattr(audit, "get_status", k.status)
    monkeypatch.setattr(audit, "set_enabled", k.set)
    k.holders = str(tmp_path / "run" / "audit-enabled.json")
    return k


def test_enabled_for_the_block_then_restored_even_on_error(kernel):
    said = []
    with pytest.raises(RuntimeError):
        with audit.AuditEnabled(said.append, kernel.holders) as a:
            assert kernel.enabled == 1 and a.changed
            raise RuntimeError("boom")
    assert kernel.enabled == 0 and kernel.calls == [1, 0]
    assert said[0].startswith("audit: enabled (it was disabled)") and said[-1] == "audit: restored to disabled"
    assert not os.path.exists(kernel.holders)


def test_already_enabled_is_left_alone(kernel):
    kernel.enabled = 1
    said = []
    with audit.AuditEnabled(said.append, kernel.holders):
        pass
    assert kernel.calls == [] and kernel.enabled == 1 and "left as it is" in said[0]


def test_two_followers_the_last_one_out_restores(kernel):
    a = audit.AuditEnabled(None, kernel.holders)
    a.enable()
    # a second follower (another pid) joins the holder file
    with open(kernel.holders) as f:
        data = json.load(f)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        data["pids"].append(other.pid)
        with open(kernel.holders, "w") as f:
            json.dump(data, f)
        said = []
        a.report = said.append
        a.restore()
        assert kernel.enabled == 1 and "still held by pid" in said[0]
        # the other one dies without restoring: the next start restores, and says so
        other.kill()
        other.wait()
        notes = []
        assert audit.recover(notes.append, kernel.holders)
        assert kernel.enabled == 0 and "ended without restoring it" in notes[0]
    finally:
        other.kill()
        other.wait()


# ---- confine denials parse ---------------------------------------------------------------------


def run_cli(*args, stdin: str | None = None, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", denials_cli(), "--root", str(root), "denials", *args],
                          input=stdin, capture_output=True, text=True, env=env(), cwd=REPO, timeout=60)


def test_parse_a_file_and_stdin_as_json_lines(tmp_path):
    text = "\n".join([
        "some unrelated line",
        rec(1),
        'type=AVC msg=audit(1700000000.5:2): apparmor="DENIED" operation="open" profile="snap.hello.hello" '
        'name="/dev/video0" pid=1 comm="hello" requested_mask="rw" denied_mask="rw" fsuid=0 ouid=0',
        "type=SECCOMP msg=audit(oops): garbage",
    ]) + "\n"
    f = tmp_path / "log"
    f.write_text(text)
    root = tmp_path / "root"
    for args, stdin in ((("parse", str(f), "--json"), None), (("parse", "-", "--json"), text)):
        p = run_cli(*args, stdin=stdin, root=root)
        assert p.returncode == 0, p.stderr
        objs = [json.loads(line) for line in p.stdout.splitlines()]
        assert [o["line"] for o in objs] == [2, 3, 4]
        assert objs[0]["raw"] == rec(1) and objs[0]["syscall"] == "socket"
        assert objs[1]["snap"] == "hello" and objs[1]["suggestions"][0]["interface"] == "camera"
        assert objs[2]["kind"] == "unparsed" and objs[2]["reason"]
        from backends.model import DENIAL_KEYS

        assert list(objs[0])[:len(DENIAL_KEYS)] == list(DENIAL_KEYS)
    p = run_cli("parse", str(f), root=root)
    assert "hello.hello was refused reading and writing /dev/video0" in p.stdout
    p = run_cli("parse", str(f), "--summary", "--json", root=root)
    rows = json.loads(p.stdout)
    assert {(r["kind"], r["target"], r["count"]) for r in rows} >= {("seccomp", "socket", 1),
                                                                      ("apparmor", "/dev/video0", 1)}


def test_read_a_file_source_with_since_and_snap(tmp_path):
    f = tmp_path / "audit.log"
    old = rec(1).replace("1700000000.001", "1000000000.001")
    f.write_text("\n".join([old, rec(2),
                            'type=AVC msg=audit(1700000000.5:3): apparmor="DENIED" operation="open" '
                            'profile="snap.hello.hello" name="/x" pid=1 comm="h" requested_mask="r" '
                            'denied_mask="r" fsuid=0 ouid=0']) + "\n")
    p = run_cli("--source", f"file:{f}", "--json", "--since", "1600000000", root=tmp_path / "root")
    assert [json.loads(x)["serial"] for x in p.stdout.splitlines()] == [2, 3]
    p = run_cli("--source", f"file:{f}", "--json", "--snap", "hello", root=tmp_path / "root")
    assert [json.loads(x)["serial"] for x in p.stdout.splitlines()] == [3]


def test_add_commands_wires_into_a_confine_style_parser():
    import argparse

    from backends.cli_denials import add_commands, cmd_denials, cmd_parse

    p = argparse.ArgumentParser(prog="confine")
    p.add_argument("--root")
    sub = p.add_subparsers(dest="command")
    add_commands(sub)
    a = p.parse_args(["--root", "/r", "denials", "--follow", "--json", "--source", "kmsg", "--snap", "hello",
                      "--since", "10m", "--enable-audit"])
    assert (a.func, a.follow, a.json, a.source, a.snap, a.since, a.enable_audit) == (
        cmd_denials, True, True, "kmsg", "hello", "10m", True)
    a = p.parse_args(["denials", "parse", "-", "--json"])
    assert (a.func, a.file, a.json) == (cmd_parse, "-", True)
    a = p.parse_args(["denials", "--summary"])
    assert a.func is cmd_denials and a.summary and not a.follow
