"""Landlock rules applied by the launcher (landlock/apply.py), on this kernel.

Each enforcement runs in a forked child (a Landlock domain cannot be left), which
reports what it could do through a pipe and exits; the parent reaps it by pid.
"""
from __future__ import annotations

import errno
import fnmatch
import os
import socket
import string
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.native.landlock import apply
from backends.native.landlock.rules import FILE_RIGHTS, FS_RIGHTS, MAX_ABI, rights_table

ABI, WHY = apply.kernel_abi()
needs_landlock = pytest.mark.skipif(ABI < 1, reason=f"no Landlock here: {WHY}")


def rules_json(fs, network_handled=("bind_tcp", "connect_tcp"), scope_handled=("abstract_unix_socket", "signal")):
    return {"schema": 1, "tag": "snap.t.t", "max-abi": MAX_ABI, "rights": rights_table(),
            "file-rights": list(FILE_RIGHTS), "fs": fs, "missing": "skip",
            "network": {"min-abi": 4, "handled": list(network_handled), "allowed": [], "granted-by": {}},
            "scope": {"min-abi": 6, "handled": list(scope_handled), "lifted": [], "lifted-by": {}},
            "restrict-self": {"min-abi": 7, "flags": ["log_new_exec_on"]}}


def in_child(fn) -> list[str]:
    """Run fn() in a forked child; return the lines it yields (or the traceback)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            out = "\n".join(fn())
        except BaseException:
            out, code = "EXC " + traceback.format_exc(), 1
        os.write(w, out.encode())
        os._exit(code)
    os.close(w)
    try:
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    text = data.decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    return text.splitlines()


def attempt(what, fn) -> str:
    try:
        fn()
        return f"{what} ok"
    except OSError as exc:
        return f"{what} {errno.errorcode.get(exc.errno, exc.errno)}"


def write(path):
    with open(path, "w") as f:
        f.write("x")


# ---- pure parts ---------------------------------------------------------------------------

def test_bits_are_the_kernels_and_the_generators():
    assert apply.FS_BITS == tuple(name for name, _ in FS_RIGHTS)
    assert apply.NET_BITS == ("bind_tcp", "connect_tcp")
    assert apply.SCOPE_BITS == ("abstract_unix_socket", "signal")


def test_expand():
    v = {"SNAP": "/snap/x/1", "HOME": "/home/u", "A_1": "a"}
    assert apply.expand("$SNAP/bin", v) == "/snap/x/1/bin"
    assert apply.expand("${HOME}/x$A_1", v) == "/home/u/xa"
    assert apply.expand("/plain", v) == "/plain"
    for bad in ("$NOPE/x", "$", "${SNAP"):
        with pytest.raises(ValueError):
            apply.expand(bad, v)


@pytest.mark.parametrize("pattern,name,want", [
    ("*", "abc", True), ("a*c", "abbbc", True), ("a?c", "abc", True), ("a?c", "ac", False),
    ("[ab]x", "bx", True), ("[!ab]x", "bx", False), ("[a-c]", "b", True), ("x[", "x[", True),
    ("*.so", "lib.so", True), ("*.so", "lib.so.1", False), ("nvidia*", "nvidia0", True), ("", "", True),
])
def test_glob_match(pattern, name, want):
    assert apply.glob_match(pattern, name) is want


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab*?[]!-", max_size=7), st.text(alphabet="ab[]-!", max_size=6))
def test_glob_match_agrees_with_fnmatch(pattern, name):
    assert apply.glob_match(pattern, name) == fnmatch.fnmatchcase(name, pattern)


def test_prepare_expands_globs_and_masks_file_rules(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    for n in ("nv0", "nv1", ".nvhidden", "other"):
        (tmp_path / n).write_text("")
    rules = rules_json([
        {"path": "$T/d", "access": "rw", "from": ["base"]},
        {"path": "$T/f", "access": "rwx", "from": ["base"]},
        {"path": "$T/nv*", "access": "r", "from": ["x"], "pattern": True},
        {"path": "$T/missing", "access": "r", "from": ["x"]},
        {"path": "$T/zz*", "access": "r", "from": ["x"], "pattern": True},
    ])
    p = apply.prepare(rules, {"T": str(tmp_path)}, abi=7)
    got = {r.path: r for r in p.rules}
    assert sorted(got) == sorted(str(tmp_path / n) for n in ("d", "f", "nv0", "nv1"))
    assert got[str(tmp_path / "d")].is_dir
    file_mask = sum(1 << apply.FS_BITS.index(r) for r in FILE_RIGHTS)
    assert got[str(tmp_path / "f")].rights & ~file_mask == 0
    assert got[str(tmp_path / "f")].rights & (1 << apply.FS_BITS.index("execute"))
    assert got[str(tmp_path / "d")].rights & (1 << apply.FS_BITS.index("make_dir"))
    assert [(w, why) for w, _, why in p.skipped] == [("$T/missing", "absent"), ("$T/zz*", "no match")]
    assert p.handled_net == 3 and p.scoped == 3 and p.restrict_flags == 2


def test_prepare_for_older_abis(tmp_path):
    rules = rules_json([{"path": str(tmp_path), "access": "rw", "from": ["base"]}])
    p1 = apply.prepare(rules, {}, abi=1)
    assert p1.used_abi == 1 and p1.handled_net == 0 and p1.scoped == 0 and p1.restrict_flags == 0
    assert p1.handled_fs == (1 << 13) - 1                      # the 13 rights of ABI 1
    assert "TCP rules need ABI 4: not applied" in p1.summary()
    p4 = apply.prepare(rules, {}, abi=4)
    assert p4.handled_net == 3 and p4.scoped == 0
    p9 = apply.prepare(rules, {}, abi=9)                       # a newer kernel: the rules' newest ABI
    assert p9.used_abi == MAX_ABI


def test_unknown_schema_or_right_is_an_error(tmp_path):
    with pytest.raises(apply.LandlockError):
        apply.prepare(dict(rules_json([]), schema=2), {}, abi=7)
    bad = rules_json([])
    bad["rights"]["7"]["handled"] = ["execute", "fly"]
    with pytest.raises(apply.LandlockError, match="fly"):
        apply.prepare(bad, {}, abi=7)


# ---- enforced on this kernel ---------------------------------------------------------------

@needs_landlock
def test_writes_only_where_the_rules_allow(tmp_path):
    rw, ro, other = tmp_path / "rw", tmp_path / "ro", tmp_path / "other"
    for d in (rw, ro, other):
        d.mkdir()
    (ro / "existing").write_text("data")
    rules = rules_json([{"path": str(rw), "access": "rw", "from": ["t"]},
                        {"path": str(ro), "access": "r", "from": ["t"]}])

    def child():
        apply.apply(rules, {})
        yield attempt("write rw", lambda: write(rw / "new"))
        yield attempt("write ro", lambda: write(ro / "new"))
        yield attempt("read ro", lambda: open(ro / "existing").read())
        yield attempt("write other", lambda: write(other / "new"))
        yield attempt("read other", lambda: os.listdir(other))
        yield attempt("mkdir rw", lambda: os.mkdir(rw / "sub"))
        yield attempt("read /etc", lambda: open("/etc/hostname").read())
    assert in_child(child) == ["write rw ok", "write ro EACCES", "read ro ok", "write other EACCES",
                               "read other EACCES", "mkdir rw ok", "read /etc EACCES"]
    assert not (other / "new").exists()


@needs_landlock
@pytest.mark.skipif(ABI < 4, reason="TCP rules need Landlock ABI 4")
def test_tcp_connect_and_bind_are_denied_when_handled():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        def child(handled):
            def run():
                apply.apply(rules_json([], network_handled=handled), {})
                s = socket.socket()
                yield attempt("connect", lambda: s.connect(("127.0.0.1", port)))
                s.close()
                b = socket.socket()
                yield attempt("bind", lambda: b.bind(("127.0.0.1", 0)))
                b.close()
            return run
        assert in_child(child(["bind_tcp", "connect_tcp"])) == ["connect EACCES", "bind EACCES"]
        assert in_child(child([])) == ["connect ok", "bind ok"]
    finally:
        listener.close()


@needs_landlock
@pytest.mark.skipif(ABI < 6, reason="scoping needs Landlock ABI 6")
def test_signals_to_processes_outside_the_domain_are_denied():
    import signal as _signal
    import time

    target = os.fork()
    if target == 0:
        time.sleep(30)
        os._exit(0)
    try:
        def child():
            apply.apply(rules_json([]), {})
            yield attempt("signal outside", lambda: os.kill(target, 0))
            yield attempt("signal self", lambda: os.kill(os.getpid(), 0))
        assert in_child(child) == ["signal outside EPERM", "signal self ok"]
    finally:
        os.kill(target, _signal.SIGKILL)
        os.waitpid(target, 0)


@needs_landlock
def test_enforce_reports_the_rule_that_fails(tmp_path):
    p = apply.prepare(rules_json([{"path": str(tmp_path), "access": "r", "from": ["t"]}]), {}, abi=ABI)
    p.rules[0].path = str(tmp_path / "gone")

    def child():
        try:
            apply.enforce(p)
        except apply.LandlockError as exc:
            yield exc.strerror
    out = in_child(child)
    assert out and out[0].startswith(f"Landlock rule {tmp_path / 'gone'}:")


def test_kernel_abi_here():
    assert ABI >= 1 or WHY


def test_random_names_for_prepare(tmp_path):
    names = ["".join(c) for c in (string.ascii_lowercase[i:i + 3] for i in range(5))]
    for n in names:
        (tmp_path / n).mkdir()
    p = apply.prepare(rules_json([{"path": f"{tmp_path}/[a-c]*", "access": "r", "from": ["t"], "pattern": True}]),
                      {}, abi=7)
    assert [os.path.basename(r.path) for r in p.rules] == ["abc", "bcd", "cde"]


# ---- `l` (read_dir alone), mounts and pathname Unix sockets, on this kernel -----------------

@needs_landlock
def test_l_lists_the_directory_and_every_one_beneath_but_reads_no_file(tmp_path):
    """The home interface's rules: `l` on $HOME, `rw` on its entries without a leading dot.
    Landlock rights hold beneath the directory a rule names, so `l` on $HOME also lists
    hidden directories (their names show), while their files stay unreadable."""
    home = tmp_path / "home"
    (home / ".hidden").mkdir(parents=True)
    (home / ".hidden" / "secret").write_text("secret")
    (home / ".profile").write_text("profile")
    (home / "Documents").mkdir()
    (home / "Documents" / "a.txt").write_text("a")
    rules = rules_json([{"path": "$H", "access": "l", "from": ["home"]},
                        {"path": "$H/*", "access": "rw", "from": ["home"], "pattern": True}])
    p = apply.prepare(rules, {"H": str(home)}, abi=ABI)
    assert {r.path: r.rights for r in p.rules}[str(home)] == 1 << apply.FS_BITS.index("read_dir")

    def child():
        apply.apply(rules, {"H": str(home)})
        yield "home: " + " ".join(sorted(os.listdir(home)))
        yield "hidden: " + " ".join(sorted(os.listdir(home / ".hidden")))
        yield attempt("read hidden file", lambda: open(home / ".hidden" / "secret").read())
        yield attempt("read dotfile", lambda: open(home / ".profile").read())
        yield attempt("write dotfile", lambda: write(home / ".profile"))
        yield attempt("create in home", lambda: write(home / "new"))
        yield attempt("read Documents/a.txt", lambda: open(home / "Documents" / "a.txt").read())
        yield attempt("write Documents/b.txt", lambda: write(home / "Documents" / "b.txt"))
    assert in_child(child) == ["home: .hidden .profile Documents", "hidden: secret", "read hidden file EACCES",
                               "read dotfile EACCES", "write dotfile EACCES", "create in home EACCES",
                               "read Documents/a.txt ok", "write Documents/b.txt ok"]
    assert (home / ".profile").read_text() == "profile" and not (home / "new").exists()


def test_l_on_a_file_grants_nothing(tmp_path):
    (tmp_path / "f").write_text("x")
    p = apply.prepare(rules_json([{"path": str(tmp_path / "f"), "access": "l", "from": ["t"]}]), {}, abi=7)
    assert [(r.is_dir, r.rights) for r in p.rules] == [(False, 0)]          # read_dir is no file right


@needs_landlock
@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace of its own needs root")
def test_a_restricted_process_may_not_mount():
    """Why an app whose interfaces let it mount gets no Landlock step: the kernel refuses
    every mount to a process Landlock restricts, whatever its rules. Each child unshares
    a mount namespace of its own, which goes away when it exits."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def call(name, *args):
        if getattr(libc, name)(*args) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))

    def child(restrict):
        def run():
            if restrict:
                apply.apply(rules_json([{"path": "/", "access": "rwx", "from": ["t"]}]), {})
            call("unshare", ctypes.c_int(0x00020000))                           # CLONE_NEWNS
            yield attempt("make private", lambda: call("mount", None, b"/", None,
                                                       ctypes.c_ulong(0x4000 | 1 << 18), None))
        return run
    assert in_child(child(False)) == ["make private ok"]
    assert in_child(child(True)) == ["make private EPERM"]       # even with every right granted on /


@needs_landlock
@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace of its own needs root")
def test_an_app_that_may_mount_keeps_its_tcp_rules_and_may_mount():
    """Rules whose app may mount (`mount-granted-by`) handle no filesystem right: the
    process mounts, its files are not restricted, and TCP connect stays refused."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    rules = dict(rules_json([{"path": "/nonexistent-for-test", "access": "r", "from": ["t"]}]),
                 **{"mount-granted-by": ["docker-support"]})
    p = apply.prepare(rules, {}, ABI)
    assert p.handled_fs == 0 and p.rules == [] and p.restricts()
    assert any("filesystem not restricted (docker-support grants mounting" in n for n in p.notes)

    def call(name, *args):
        if getattr(libc, name)(*args) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))

    def run():
        apply.apply(rules, {})
        call("unshare", ctypes.c_int(0x00020000))                               # CLONE_NEWNS
        yield attempt("make private", lambda: call("mount", None, b"/", None, ctypes.c_ulong(0x4000 | 1 << 18),
                                                   None))
        yield attempt("read /etc/hostname", lambda: open("/etc/hostname").close())
        s = socket.socket()
        yield attempt("connect tcp", lambda: s.connect(("127.0.0.1", 9)))
        s.close()
    out = in_child(run)
    assert out[:2] == ["make private ok", "read /etc/hostname ok"], out
    assert out[2] == ("connect tcp EACCES" if ABI >= 4 else "connect tcp ECONNREFUSED"), out


@needs_landlock
@pytest.mark.skipif(ABI > 7, reason="a newer Landlock ABI may mediate pathname Unix sockets")
def test_pathname_unix_sockets_are_not_mediated_up_to_abi_7(tmp_path):
    """A fact of this kernel, not a wish: Landlock up to ABI 7 does not check connect() to
    a pathname Unix socket (only abstract ones are scoped), so a restricted process with no
    rule for the socket's directory still connects; only listing the directory is refused."""
    server = socket.socket(socket.AF_UNIX)
    path = tmp_path / "engine.sock"
    server.bind(str(path))
    server.listen(1)
    try:
        def child():
            apply.apply(rules_json([]), {})
            c = socket.socket(socket.AF_UNIX)
            yield attempt("connect", lambda: c.connect(str(path)))
            c.close()
            yield attempt("list its directory", lambda: os.listdir(tmp_path))
        assert in_child(child) == ["connect ok", "list its directory EACCES"]
    finally:
        server.close()
        path.unlink()
