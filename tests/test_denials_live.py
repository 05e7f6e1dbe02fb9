"""`confine denials --follow` on this kernel: real denials from a confined app.

The examples are installed once into a scratch root. A follower (`confine denials
--follow --json`, in a session of its own) is started first and waited for until it
says it is listening; then hello.hello's sandbox (`confine run --shell`) runs a
Python child that makes N = 1,000 socket(AF_INET) calls its seccomp filter refuses
(with SECCOMP_FILTER_FLAG_LOG: each is audited) and lists /root, which its Landlock
rules refuse. Every one of them must come out of the follower, placed on snap hello,
app hello. The child's records carry no snap label (no AppArmor here): the follower
places them through the device cgroup `confine run` puts the app in
(/confine/snap.hello.hello.N), with the kernel's process events for processes that
end before their record is read.

The kernel's audit switch is read before and put back by value after each test,
whatever happened; processes are killed by group id.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from denials_support import (REPO, ROOT_USER, Follower, audit_enabled, denials_cli, env, install_examples,
                             run_confined_burst, set_audit)
from launch_support import HostDirs

pytestmark = pytest.mark.skipif(not ROOT_USER, reason="the audit socket and confine run need root")

N = 1000


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("denials") / "root"
    install_examples(r)
    return r


@pytest.fixture(scope="module", autouse=True)
def host_dirs():
    dirs = HostDirs(["hello"])
    yield dirs
    dirs.cleanup()


@pytest.fixture
def audit_restored():
    """The audit switch as it was before the test, put back after it in any case."""
    before = audit_enabled()
    yield before
    if audit_enabled() != before and before in (0, 1):
        set_audit(before)


@pytest.fixture
def follower(root):
    started: list[Follower] = []

    def start(*extra: str) -> Follower:
        f = Follower(root, *extra).start()
        started.append(f)
        return f

    yield start
    for f in started:
        f.kill()


def test_burst_and_landlock_all_arrive_with_snap_and_app(root, follower, audit_restored):
    f = follower("--json", "--source", "netlink", "--enable-audit")
    assert any("netlink" in line for line in f.stderr), f.stderr
    pid, result, _proc = run_confined_burst(root, N, "/root")

    def mine(records):
        seccomp = [r for r in records if r["kind"] == "seccomp" and r["pid"] == pid]
        landlock = [r for r in records if r["kind"] == "landlock" and r["pid"] == pid]
        return seccomp, landlock

    assert f.wait_for(lambda rs: len(mine(rs)[0]) >= N and mine(rs)[1], timeout=60, quiet=0.5), \
        f"got {len(mine(f.records())[0])} seccomp and {len(mine(f.records())[1])} Landlock records"
    code = f.stop(signal.SIGINT)
    seccomp, landlock = mine(f.records())
    assert len(seccomp) == N                                   # count equality: none lost, none twice
    assert len({r["serial"] for r in seccomp}) == N
    assert {(r["snap"], r["app"]) for r in seccomp} == {("hello", "hello")}
    assert {r["syscall"] for r in seccomp} == {"socket"}
    assert all(r["action"] == "errno" and r["explanation"] for r in seccomp)
    assert len(landlock) == 1
    ll = landlock[0]
    assert (ll["snap"], ll["app"], ll["name"], ll["denied"]) == ("hello", "hello", "/root", "fs.read_dir")
    assert ll["suggestions"][0]["interface"] == "home"
    assert code == 0
    assert audit_enabled() == audit_restored


def test_enable_audit_restores_the_previous_value_on_sigterm(root, follower, audit_restored):
    f = follower("--json", "--source", "netlink", "--enable-audit")
    assert audit_enabled() >= 1                                # on while the follower runs
    f.stop(signal.SIGTERM)
    assert audit_enabled() == audit_restored
    said = "\n".join(f.stderr)
    if audit_restored == 0:
        assert "audit: enabled (it was disabled)" in said and "audit: restored to disabled" in said
    else:
        assert "left as it is" in said or "held together" in said


def test_enable_audit_restores_after_sigkill_on_the_next_start(root, audit_restored):
    """A follower killed outright cannot restore: the next one finds its holder record
    dead and restores the value first, saying so."""
    if audit_restored != 0:
        pytest.skip("audit is enabled by someone else here: nothing would be restored")
    f = Follower(root, "--json", "--source", "netlink", "--enable-audit").start()
    try:
        assert audit_enabled() == 1
    finally:
        f.kill()                                               # SIGKILL: no chance to restore
    assert audit_enabled() == 1
    g = Follower(root, "--json", "--source", "netlink").start()
    try:
        assert audit_enabled() == 0
        assert any("ended without restoring it: restored it to disabled" in line for line in g.stderr), g.stderr
    finally:
        g.stop(signal.SIGTERM)


def test_without_enable_audit_the_switch_is_untouched_and_a_note_says_so(root, follower, audit_restored):
    f = follower("--json", "--source", "netlink")
    assert audit_enabled() == audit_restored
    f.stop()
    assert audit_enabled() == audit_restored
    if audit_restored == 0:
        assert any("Landlock denials are not logged" in line for line in f.stderr), f.stderr


def test_kmsg_source_warns_about_the_rate_limit(root, follower, audit_restored):
    f = follower("--json", "--source", "kmsg")
    said = "\n".join(f.stderr)
    assert "rate limit" in said and "bursts of denials are lost" in said
    assert "kmsg" in said
    f.stop()


def test_auto_says_which_source_it_picked(root, follower, audit_restored):
    f = follower("--json")
    assert any("auto picked netlink" in line for line in f.stderr), f.stderr
    f.stop()


def test_auto_falls_back_to_kmsg_with_the_reason_and_the_warning(monkeypatch):
    from backends.native.denials import sources

    def refuse(self, follow=True, since=None):
        raise sources.SourceUnavailable("netlink: joining the audit read-log group needs CAP_AUDIT_READ (run as root)")

    monkeypatch.setattr(sources.NetlinkSource, "open", refuse)
    monkeypatch.setattr(sources, "_auditd_running", lambda: False)
    notes = []
    src = sources.open_source("auto", follow=True, on_note=notes.append)
    try:
        assert isinstance(src, sources.KmsgSource)
        assert "netlink: joining the audit read-log group needs CAP_AUDIT_READ" in src.description
        assert any("rate limit" in n for n in notes)
    finally:
        src.close()


def test_a_source_that_cannot_be_used_says_why(tmp_path):
    proc = subprocess.run([sys.executable, "-m", denials_cli(), "--root", str(tmp_path), "denials",
                           "--source", f"file:{tmp_path}/absent.log"], capture_output=True, text=True, env=env(),
                          cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert "absent.log does not exist" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", denials_cli(), "--root", str(tmp_path), "denials",
                           "--source", "netlink"], capture_output=True, text=True, env=env(), cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert "only new records" in proc.stderr and "--follow" in proc.stderr


def test_snap_filter_and_summary_over_a_live_burst(root, follower, audit_restored):
    f = follower("--json", "--source", "netlink", "--snap", "hello")
    pid, _result, _ = run_confined_burst(root, 20, "")
    assert f.wait_for(lambda rs: len([r for r in rs if r["pid"] == pid]) >= 20, timeout=30, quiet=0.3)
    f.stop()
    assert {r["snap"] for r in f.records()} == {"hello"}
    # --summary: the same burst counted once per snap, app, operation and syscall
    g = Follower(root, "--json", "--source", "netlink", "--summary").start()
    try:
        pid, _result, _ = run_confined_burst(root, 7, "")
        time.sleep(1.0)
        g.stop(signal.SIGINT)
        text = "".join(line for _, line in g.lines)
        import json

        rows = json.loads(text)
        row = next(r for r in rows if r["snap"] == "hello" and r["target"] == "socket")
        assert row["count"] >= 7 and row["app"] == "hello" and row["kind"] == "seccomp"
    finally:
        g.kill()
