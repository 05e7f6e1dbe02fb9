"""The default template, the generated source of a tag, compile_file and `confine seccomp compile`."""
from __future__ import annotations

import argparse
import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

import backends
from backends.errors import ConfineError
from backends.model import App, Snap
from backends.native.profiles.context import Grant, TagContext
from backends.native.seccomp import bpf, compiler, grammar, template
from backends.native.seccomp.grammar import SeccompSyntaxError, parse

REPO = Path(backends.__file__).resolve().parent.parent


# ---- the template --------------------------------------------------------------------

def _groups() -> list[list[str]]:
    groups, current = [], []
    for line in template.TEMPLATE.split("\n"):
        if not line.strip():
            if current:
                groups.append(current)
            current = []
        elif not line.startswith("#"):
            current.append(line)
    if current:
        groups.append(current)
    return groups


def test_template_parses_without_duplicates_and_each_group_is_sorted():
    policy = parse(template.TEMPLATE, "template")
    lines = template.template_rules()
    assert len(lines) == len(set(lines)) == len(policy.rules) + len(policy.denials)
    for group in _groups():
        names = [line.lstrip("~").split()[0] for line in group]
        assert names == sorted(names), group
    assert len(_groups()) >= 15


def test_every_group_has_a_comment():
    blocks = [b for b in template.TEMPLATE.split("\n\n") if b.strip()]
    assert all(b.lstrip().startswith("#") for b in blocks)


def test_template_allows_what_ordinary_programs_need_and_not_more():
    names = {r.syscall for r in parse(template.TEMPLATE).rules}
    for needed in ("read", "write", "openat", "close", "mmap", "brk", "execve", "exit_group", "clone", "wait4",
                   "rt_sigaction", "futex", "ioctl", "getrandom", "newfstatat", "statx", "getdents64", "pipe2",
                   "dup2", "fcntl", "epoll_wait", "poll", "prlimit64", "set_tid_address", "rseq", "mmap2",
                   "getuid32", "fcntl64", "_llseek", "socket", "connect", "sendmsg", "recvmsg"):
        assert needed in names, needed
    for granted_elsewhere in ("bind", "listen", "accept", "accept4", "mount", "umount2", "pivot_root", "chroot",
                              "unshare", "setns", "ptrace", "init_module", "finit_module", "delete_module",
                              "kexec_load", "bpf", "perf_event_open", "reboot", "settimeofday", "sethostname",
                              "setuid", "setgid", "acct", "swapon", "quotactl", "socketcall", "ipc", "keyctl",
                              "process_vm_readv", "open_by_handle_at", "iopl", "ioperm", "syslog", "kcmp"):
        assert granted_elsewhere not in names, granted_elsewhere
    sockets = [r for r in parse(template.TEMPLATE).rules if r.syscall == "socket"]
    assert [r.args for r in sockets] == [(grammar.ArgCond(0, "EQ", 1),)]  # AF_UNIX only


def test_template_denies_tiocsti_and_tioclinux_on_the_low_32_bits():
    policy = parse(template.TEMPLATE)
    assert {(r.syscall, r.args) for r in policy.denials} == {
        ("ioctl", (grammar.ArgCond(1, "MASKED_EQ", 0x5412, 0xFFFFFFFF),)),
        ("ioctl", (grammar.ArgCond(1, "MASKED_EQ", 0x541C, 0xFFFFFFFF),)),
    }
    result = compiler.compile_policy(policy, tree=True)
    for cmd, want in ((0x5412, "errno(13)"), (0x100005412, "errno(13)"), (0xFFFFFFFF0000541C, "errno(13)"),
                      (0x5413, "allow"), (0x105413, "allow")):
        data = bpf.SeccompData(16, bpf.AUDIT_ARCH_X86_64, 0, (1, cmd, 0, 0, 0, 0))
        assert bpf.describe(bpf.decide([result.deny, result.allow], data)) == want, hex(cmd)
    assert not result.skipped or set(result.skipped) <= {"fchmodat2", "futex_waitv", "epoll_pwait2",
                                                          "landlock_add_rule", "landlock_create_ruleset",
                                                          "landlock_restrict_self", "close_range", "openat2",
                                                          "faccessat2", "pidfd_open", "pidfd_send_signal"}


# ---- generated sources ------------------------------------------------------------------

def ctx_of(confinement="strict", grants=(), tag="snap.demo.app") -> TagContext:
    snap = Snap(name="demo", version="1", confinement=confinement,
                apps={"app": App("demo", "app", "bin/app")})
    return TagContext(tag, snap, "app", None, "classic", tuple(grants))


def grant(iface, text, side="connected-plug", end=None, peer=":x"):
    return Grant(iface, side, end or f"demo:{iface}", peer, ("unconfined",), {"seccomp": text})


def test_generated_source_starts_with_a_header_naming_the_tag():
    text = template.generate_source(ctx_of(tag="snap.demo.hook.configure"))
    assert text.startswith("# seccomp profile of snap.demo.hook.configure")
    assert template.TEMPLATE.rstrip("\n") in text
    policy = parse(text)
    assert not policy.complain and not policy.unrestricted


def test_classic_is_unrestricted_and_devmode_complains():
    classic = template.generate_source(ctx_of("classic", [grant("network", "socket AF_INET")]))
    assert classic.startswith("# seccomp profile of snap.demo.app")
    assert parse(classic).unrestricted and "socket AF_INET" not in classic
    dev = parse(template.generate_source(ctx_of("devmode")))
    assert dev.complain and not dev.unrestricted and dev.rules


def test_interface_lines_are_sorted_deduplicated_and_named():
    grants = [
        grant("network", "# comment\nsocket AF_INET6\nsocket AF_INET\n\nbind\nsocket   AF_INET\n"),
        grant("network", "bind\nsocket AF_NETLINK - NETLINK_ROUTE", side="connected-slot", end="demo:net2",
              peer="other:net"),
        grant("audio-playback", "shmctl\nread\nsocket AF_UNIX", side="permanent-slot", peer=None),
    ]
    text = template.generate_source(ctx_of(grants=grants))
    tail = text.split("~clone3 errno=ENOSYS\n", 1)[1]
    assert tail == (
        "\n# interface audio-playback: permanent slot demo:audio-playback\n"
        "shmctl\n"
        "\n# interface network: connected plug demo:network to :x; connected slot demo:net2 to other:net\n"
        "bind\nsocket AF_INET\nsocket AF_INET6\nsocket AF_NETLINK - NETLINK_ROUTE\n")
    parse(text)


def test_clone_with_namespace_flags_is_refused_unless_unshare_is_granted():
    text = template.generate_source(ctx_of())
    policy = parse(text)
    denials = {(r.syscall, tuple(c.value for c in r.args), r.errno) for r in policy.denials}
    for flag in template.NAMESPACE_FLAGS:
        assert ("clone", (grammar.CONSTANTS[flag],), None) in denials, flag
    assert ("clone3", (), errno.ENOSYS) in denials
    # unshare for one flag lifts that flag's clone denial only; clone3 stays refused
    one = parse(template.generate_source(ctx_of(grants=[grant("x", "unshare CLONE_NEWNET")])))
    assert not any(r.args and r.args[0].value == grammar.CONSTANTS["CLONE_NEWNET"] for r in one.denials)
    assert any(r.syscall == "clone3" for r in one.denials)
    # unshare with any flags lifts them all, and clone3 with them
    text = template.generate_source(ctx_of(grants=[grant("docker-support", "unshare\nsetns")]))
    assert not any(r.syscall in ("clone", "clone3") for r in parse(text).denials)
    assert "~ioctl - TIOCSTI" in text


def test_explicit_denials_answer_their_own_errno():
    policy = parse("clone\nclone3\nioctl\n~clone |CLONE_NEWUSER errno=EPERM\n~clone3 errno=ENOSYS\n~ioctl - TIOCSTI\n")
    filters = [compiler.compile_deny(policy, tree=True), compiler.compile_allow(policy, tree=True)]
    nr = {"clone": 56, "clone3": 435, "ioctl": 16}
    decide = lambda name, *args: bpf.describe(bpf.decide(filters, bpf.SeccompData(nr=nr[name], arch=bpf.AUDIT_ARCH_X86_64, args=args)))
    assert decide("clone", 0x10000000 | 17) == "errno(1)"
    assert decide("clone", 17) == "allow"
    assert decide("clone3") == "errno(38)"
    assert decide("ioctl", 0, 0x5412) == "errno(13)"
    assert grammar.format_rule(policy.denials[1]) == "~clone3 errno=ENOSYS"


@pytest.mark.parametrize("line, token, reason", [
    ("clone3 errno=ENOSYS", "errno=ENOSYS", "explicit denials"),
    ("~clone3 errno=ENOSYZ", "errno=ENOSYZ", "unknown errno"),
    ("~clone3 errno=0", "errno=0", "1 to 4095"),
    ("~clone3 errno=", "errno=", "unknown errno"),
])
def test_bad_errno_is_named(line, token, reason):
    with pytest.raises(SeccompSyntaxError, match=reason) as info:
        parse(line, "f.src")
    assert (info.value.line, info.value.field) == (1, token)


def test_an_interface_with_only_template_lines_still_shows():
    text = template.generate_source(ctx_of(grants=[grant("home", "read\nwrite")]))
    assert "# interface home: connected plug demo:home to :x\n# (nothing beyond the lines above)\n" in text


def test_an_interface_may_lift_the_filter():
    text = template.generate_source(ctx_of(grants=[grant("docker-support", "@unrestricted")]))
    assert parse(text).unrestricted
    assert compiler.compile_policy(parse(text)).allow == compiler.UNRESTRICTED


# ---- compile_file ---------------------------------------------------------------------

def test_compile_file_writes_allow_and_deny(tmp_path: Path):
    src = tmp_path / "p.src"
    out = tmp_path / "p.bin"
    src.write_text("read\nwrite\nno_such_call\n~ioctl - TIOCSTI\n")
    result = compiler.compile_file(src, out)
    assert out.read_bytes() == result.allow == compiler.compile_allow(parse(src.read_text()))
    assert (tmp_path / "p.bin.deny").read_bytes() == result.deny == compiler.compile_deny(parse(src.read_text()))
    assert result.skipped == ("no_such_call",)
    # a source without denials removes a stale deny filter
    src.write_text("read\n")
    result = compiler.compile_file(src, out)
    assert result.deny is None and not (tmp_path / "p.bin.deny").exists()
    tree = compiler.compile_file(src, out, tree=True)
    assert tree.tree and out.read_bytes() == tree.allow


def test_compile_file_errors_name_line_and_token_and_write_nothing(tmp_path: Path):
    src, out = tmp_path / "bad.src", tmp_path / "bad.bin"
    out.write_bytes(b"old")
    src.write_text("read\n\nsocket AF_INET SOCK_STREEM\n")
    with pytest.raises(SeccompSyntaxError) as info:
        compiler.compile_file(src, out)
    assert (info.value.file, info.value.line, info.value.field) == (str(src), 3, "SOCK_STREEM")
    assert out.read_bytes() == b"old" and not (tmp_path / "bad.bin.deny").exists()
    src.write_bytes(b"read\n\xff\n")
    with pytest.raises(SeccompSyntaxError, match="UTF-8"):
        compiler.compile_file(src, out)
    with pytest.raises(SeccompSyntaxError, match="cannot read"):
        compiler.compile_file(tmp_path / "missing.src", out)
    with pytest.raises(ConfineError, match="cannot write"):
        src.write_text("read\n")
        compiler.compile_file(src, tmp_path / "no-such-dir" / "x.bin")


def test_compile_files_and_compile_many_match_one_by_one(tmp_path: Path):
    texts = [template.TEMPLATE + f"setpriority PRIO_PROCESS {i} >=0\n" for i in range(12)] + ["@unrestricted"]
    jobs = []
    for i, text in enumerate(texts):
        (tmp_path / f"{i}.src").write_text(text)
        jobs.append((tmp_path / f"{i}.src", tmp_path / f"{i}.bin"))
    for tree in (False, True):
        results = compiler.compile_files(jobs, tree=tree, workers=4)
        for (src, out), result, text in zip(jobs, results, texts):
            single = compiler.compile_policy(parse(text), tree=tree)
            assert result == single and out.read_bytes() == single.allow
    assert len({r.allow for r in results}) == len(texts)


def test_export_pfc_shows_both_filters():
    pfc = compiler.export_pfc(parse("read\nsocket AF_UNIX\n~ioctl - TIOCSTI\nno_such_call"))
    assert "explicit denials" in pfc and "ERRNO(13)" in pfc and "ERRNO(1)" in pfc
    assert "arch x86_64" in pfc.lower() or "x86_64" in pfc
    assert "no_such_call" in pfc
    assert "unrestricted" in compiler.export_pfc(parse("@unrestricted"))
    assert "LOG" in compiler.export_pfc(parse("@complain\nread"))


# ---- the command line --------------------------------------------------------------------

def _cli(*argv: str):
    from backends.cli_seccomp import add_commands

    parser = argparse.ArgumentParser(prog="confine")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_compile_reports_what_it_wrote(tmp_path: Path, capsys):
    src, out = tmp_path / "a.src", tmp_path / "a.bin"
    src.write_text("read\nno_such_call\n~ioctl - TIOCSTI\n")
    assert _cli("seccomp", "compile", str(src), str(out)) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}: allow filter" in text and f"wrote {out}.deny: deny filter" in text
    assert "skipped unknown syscalls" in text and "no_such_call" in text
    assert _cli("seccomp", "compile", "--json", "--tree", str(src), str(out)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped"] == ["no_such_call"] and data["tree"] and data["deny-output"] == f"{out}.deny"
    src.write_text("@unrestricted\n")
    assert _cli("seccomp", "compile", str(src), str(out)) == 0
    assert "@unrestricted" in capsys.readouterr().out


def test_confine_seccomp_compile_through_the_real_cli(tmp_path: Path):
    src, out = tmp_path / "a.src", tmp_path / "a.bin"
    src.write_text("read\n~ioctl - TIOCSTI\n")
    proc = subprocess.run([sys.executable, "-m", "backends.cli", "seccomp", "compile", str(src), str(out)],
                          capture_output=True, text=True, cwd=REPO)
    if "invalid choice: 'seccomp'" in proc.stderr:
        pytest.fail("backends/cli.py does not call backends.cli_seccomp.add_commands yet", pytrace=False)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and Path(f"{out}.deny").exists()
    src.write_text("read\nread 0x10\n")
    proc = subprocess.run([sys.executable, "-m", "backends.cli", "seccomp", "compile", str(src), str(out)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert f"{src}:2: 0x10: hexadecimal" in proc.stderr and "Traceback" not in proc.stderr


def test_compile_files_writes_nothing_when_one_source_is_bad(tmp_path: Path):
    jobs = []
    for i, text in enumerate(["read\n~ioctl - TIOCSTI\n", "write\n", "read\nread AF_NOPE\n", "read 0x1\n"]):
        (tmp_path / f"{i}.src").write_text(text)
        (tmp_path / f"{i}.bin").write_bytes(b"old")
        jobs.append((tmp_path / f"{i}.src", tmp_path / f"{i}.bin"))
    with pytest.raises(SeccompSyntaxError) as info:
        compiler.compile_files(jobs, workers=2)
    assert info.value.file == str(tmp_path / "2.src") and info.value.line == 2
    assert all((tmp_path / f"{i}.bin").read_bytes() == b"old" for i in range(4))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(ConfineError, match="twice"):
        compiler.compile_files([jobs[0], jobs[0]])


def test_compile_files_shares_identical_deny_outputs_and_removes_stale_ones(tmp_path: Path):
    jobs = []
    for i in range(4):
        (tmp_path / f"{i}.src").write_text(template.TEMPLATE + f"setpriority PRIO_PROCESS {i} >=0\n")
        jobs.append((tmp_path / f"{i}.src", tmp_path / f"{i}.bin"))
    (tmp_path / "4.src").write_text("read\n")
    (tmp_path / "4.bin.deny").write_bytes(b"stale")
    jobs.append((tmp_path / "4.src", tmp_path / "4.bin"))
    results = compiler.compile_files(jobs, workers=2)
    denies = [tmp_path / f"{i}.bin.deny" for i in range(4)]
    assert all(d.read_bytes() == results[0].deny for d in denies)
    assert not (tmp_path / "4.bin.deny").exists() and results[4].deny is None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    # replacing one output never changes another that shared its file
    (tmp_path / "0.src").write_text("read\n~kill - 9\n")
    compiler.compile_file(tmp_path / "0.src", tmp_path / "0.bin")
    assert denies[1].read_bytes() == results[1].deny != denies[0].read_bytes()


def test_compile_files_failing_in_a_worker_leaves_every_output_as_it_was(tmp_path: Path):
    jobs = []
    for i in range(6):
        (tmp_path / f"{i}.src").write_text(template.TEMPLATE + f"setpriority PRIO_PROCESS {i} >=0\n")
        (tmp_path / f"{i}.bin").write_bytes(b"old")
        jobs.append((tmp_path / f"{i}.src", tmp_path / f"{i}.bin"))
    jobs[3] = (jobs[3][0], tmp_path / "no-such-dir" / "3.bin")   # its temporary file cannot be written
    for workers in (1, 2, 3):
        with pytest.raises(ConfineError, match="cannot write .*no-such-dir"):
            compiler.compile_files(jobs, workers=workers)
        assert all((tmp_path / f"{i}.bin").read_bytes() == b"old" for i in (0, 1, 2, 4, 5))
        assert not any((tmp_path / f"{i}.bin.deny").exists() for i in range(6))
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_compile_files_reports_a_bad_source_before_a_failing_output(tmp_path: Path):
    jobs = []
    for i, text in enumerate([template.TEMPLATE, "read\n", template.TEMPLATE, "read\nread 0x1\n", "write\n"]):
        (tmp_path / f"{i}.src").write_text(text)
        jobs.append((tmp_path / f"{i}.src", tmp_path / f"{i}.bin"))
    jobs[1] = (jobs[1][0], tmp_path / "no-such-dir" / "1.bin")
    for workers in (1, 2, 3):
        with pytest.raises(SeccompSyntaxError) as info:
            compiler.compile_files(jobs, workers=workers)
        assert (info.value.file, info.value.line) == (str(tmp_path / "3.src"), 2)
        assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i}.src" for i in range(5)]
