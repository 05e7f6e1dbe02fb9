"""The suggester and the explanations, on hand-made denials (no kernel): seccomp lines
with and without arguments, AppArmor file, capability, network and D-Bus rules,
Landlock paths, networks and scopes, ranking, actions and noise."""
from __future__ import annotations

from pathlib import Path

import pytest

from backends.model import Denial
from backends.native.denials import explain as ex
from backends.native.denials.feed import Enricher, parse_lines, parse_since, summarize
from backends.native.denials.parser import parse_line
from backends.native.denials.suggest import Suggester, build_grants, covers, split_rules
from backends.native.engine import NativeBackend
from backends.native.interfaces.catalogue import load_catalogue
from backends.native.seccomp import grammar


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> NativeBackend:
    root = tmp_path_factory.mktemp("suggester") / "root"
    e = NativeBackend(root, system_kind="classic")
    e.install_examples()
    return e


@pytest.fixture(scope="module")
def sug(engine) -> Suggester:
    return Suggester(engine)


@pytest.fixture(scope="module")
def bare() -> Suggester:
    return Suggester(None)


def seccomp(name: str, snap=None, app=None, **args) -> Denial:
    fields = {f"SYSCALL.{k}": v for k, v in args.items()}
    return Denial(kind="seccomp", mode="DENIED", operation="syscall", syscall=name, snap=snap, app=app,
                  action="errno", cls="syscall", fields=fields)


def landlock(blockers: str, name=None, snap=None, app=None, **fields) -> Denial:
    f = {"blockers": blockers, **fields}
    if name is not None:
        f["path"] = name
    return Denial(kind="landlock", mode="DENIED", operation=blockers, denied=blockers, name=name, snap=snap,
                  app=app, cls=blockers.split(".")[0], fields=f)


def aa_file(path: str, mask: str, snap=None, app=None) -> Denial:
    return Denial(kind="apparmor", mode="DENIED", operation="open", name=path, requested=mask, denied=mask,
                  snap=snap, app=app, profile=f"snap.{snap}.{app}" if snap else None, cls="file")


def names(sugs) -> list:
    return [s.interface for s in sugs]


# ---- seccomp lines ------------------------------------------------------------------------


def test_seccomp_line_with_arguments_when_the_arguments_are_known(bare):
    # socket(AF_INET=2): lines `socket AF_INET` match; AF_NETLINK-only lines do not
    sugs = bare.suggest(seccomp("socket", a0="2", a1="1", a2="0"))
    assert "network" in names(sugs) and "network-bind" in names(sugs)
    assert "network-observe" not in names(sugs)                     # only AF_NETLINK lines
    net = next(s for s in sugs if s.interface == "network")
    assert net.certain and net.rule == "socket AF_INET" and net.mechanism == "seccomp"
    # socket(AF_NETLINK=16, ..., NETLINK_KOBJECT_UEVENT=15)
    sugs = bare.suggest(seccomp("socket", a0="10", a1="3", a2="f"))
    assert "hardware-observe" in names(sugs)
    sugs = bare.suggest(seccomp("socket", a0="10", a1="3", a2="0"))   # NETLINK_ROUTE
    assert "hardware-observe" not in names(sugs) and "network-observe" in names(sugs)


def test_seccomp_line_with_arguments_when_the_record_does_not_log_them(bare):
    sugs = bare.suggest(seccomp("socket"))
    net = next(s for s in sugs if s.interface == "network")
    assert not net.certain and "arguments" in net.note
    # a line without conditions allows whatever the arguments: certain
    setpri = next(s for s in bare.suggest(seccomp("setpriority")) if s.interface == "process-control")
    assert setpri.certain and setpri.rule == "setpriority"


def test_seccomp_quotactl_commands(bare):
    q_getquota = 0x800007
    assert "mount-observe" in names(bare.suggest(seccomp("quotactl", a0=f"{q_getquota:x}")))
    q_quotaon = 0x800002
    assert "mount-observe" not in names(bare.suggest(seccomp("quotactl", a0=f"{q_quotaon:x}")))


def test_seccomp_explicit_denials_never_allow():
    g = build_grants(load_catalogue()["network"], [{"seccomp": "~ioctl - TIOCSTI\nbind\n"}], {})
    assert [r.syscall for r in g.seccomp] == ["bind"]


def test_seccomp_unrestricted_counts_as_a_blanket_grant(bare):
    g = build_grants(load_catalogue()["docker-support"], [{"seccomp": "@unrestricted\n"}], {})
    assert g.unrestricted and g.size >= 1000


def test_grammar_is_the_one_the_compiler_uses():
    rule = grammar.parse_line("socket AF_NETLINK - NETLINK_ROUTE", 1)
    assert rule.args[0].matches(16) and rule.args[1].matches(0) and not rule.args[1].matches(15)


# ---- AppArmor rules ------------------------------------------------------------------------


def test_split_rules_keeps_multi_line_rules_and_braces():
    text = """
      # comment, with a comma
      /etc/{hosts,resolv.conf} r,   # trailing comment
      dbus (send)
          bus=system
          path=/org/x
          member={A,B},
      owner @{HOME}/ r,
    """
    assert split_rules(text) == ["/etc/{hosts,resolv.conf} r", "dbus (send) bus=system path=/org/x member={A,B}",
                                 "owner @{HOME}/ r"]


def test_masks():
    assert covers("rw", "c") and covers("rw", "d") and covers("a", "a") and covers("w", "a")
    assert not covers("r", "w") and covers("ix", "x") and covers("rwkl", "k") and not covers("r", "m")


def test_apparmor_file_rules(bare):
    assert names(bare.suggest(aa_file("/dev/video0", "rw")))[0] == "camera"
    home = names(bare.suggest(aa_file("/home/alice/Documents/a.txt", "w")))
    assert home[0] == "home"
    assert "home" not in names(bare.suggest(aa_file("/home/alice/.bashrc", "r")))     # dotfiles
    assert "home" not in names(bare.suggest(aa_file("/home/alice/snap/x/y", "r")))    # other snaps' data
    # `audit deny @{HOME}/bin/{,**} wl` in the same interface wins over its allow rules
    assert "home" not in names(bare.suggest(aa_file("/home/alice/bin/tool", "w")))
    assert "home" in names(bare.suggest(aa_file("/home/alice/bin/tool", "r")))


def test_apparmor_capability_network_and_dbus(bare):
    cap = parse_line('type=AVC msg=audit(1.0:1): apparmor="DENIED" operation="capable" profile="snap.a.b" '
                     'pid=9 comm="x" capability=12 capname="net_admin"')
    sugs = bare.suggest(cap)
    assert sugs and all(s.rule.startswith("capability") for s in sugs)
    assert "network-control" in names(sugs)
    net = parse_line('type=AVC msg=audit(1.0:2): apparmor="DENIED" operation="create" profile="snap.a.b" pid=1 '
                     'comm="x" family="inet" sock_type="stream" protocol=6 requested_mask="create" '
                     'denied_mask="create"')
    assert names(bare.suggest(net))[0] == "network"                 # inet stream, least else
    bt = parse_line('type=AVC msg=audit(1.0:3): apparmor="DENIED" operation="create" profile="snap.a.b" pid=1 '
                    'comm="x" family="bluetooth" sock_type="seqpacket" protocol=0 requested_mask="create" '
                    'denied_mask="create"')
    assert "network" not in names(bare.suggest(bt))
    dbus = parse_line("type=USER_AVC msg=audit(1.0:4): pid=1 uid=103 auid=4294967295 ses=4294967295 "
                      "msg='apparmor=\"DENIED\" operation=\"dbus_method_call\"  bus=\"system\" "
                      "path=\"/org/freedesktop/resolve1\" interface=\"org.freedesktop.resolve1.Manager\" "
                      "member=\"ResolveHostname\" mask=\"send\" name=\"org.freedesktop.resolve1\" pid=4242 "
                      "label=\"snap.a.b\" peer_pid=500 peer_label=\"unconfined\" exe=\"/usr/bin/dbus-daemon\"'")
    assert dbus.kind == "dbus"
    sugs = bare.suggest(dbus)
    assert "network" in names(sugs)
    wrong = parse_line(dbus.raw.replace("ResolveHostname", "SetLinkDNS"))
    assert "network" not in names(bare.suggest(wrong))


# ---- Landlock ------------------------------------------------------------------------------------


def test_landlock_paths(bare):
    assert names(bare.suggest(landlock("fs.read_dir", "/media")))[0] == "removable-media"
    cam = bare.suggest(landlock("fs.write_file,fs.read_file", "/dev/video63"))
    assert cam[0].interface == "camera" and cam[0].certain and cam[0].mechanism == "landlock"
    # listing $HOME itself: home's list-only rule (`$HOME`, access l), which Landlock
    # extends to every directory beneath, hidden ones included (their names, not contents)
    for listed in ("/root", "/root/.ssh"):
        home = bare.suggest(landlock("fs.read_dir", listed))
        assert (home[0].interface, home[0].certain, home[0].mechanism) == ("home", True, "landlock"), home
        assert home[0].rule == "filesystem: $HOME (l)"
    assert "home" not in names(bare.suggest(landlock("fs.read_dir", "/rootx")))
    # `$HOME/*` leaves hidden entries out, as the launcher expands it
    assert "home" not in names(bare.suggest(landlock("fs.read_file", "/root/.profile")))
    assert names(bare.suggest(landlock("fs.read_file", "/root/notes.txt")))[0] == "home"
    # device nodes are never created through an interface
    assert bare.suggest(landlock("fs.make_char", "/dev")) == () or all(
        s.interface is None for s in bare.suggest(landlock("fs.make_char", "/dev")))


def test_landlock_network_and_scopes_prefer_the_fewest_extra_rights(bare):
    connect = names(bare.suggest(landlock("net.connect_tcp", None, daddr="127.0.0.1", dest="80")))
    assert connect[0] == "network"                        # connect only, before network-bind's bind + connect
    bind = names(bare.suggest(landlock("net.bind_tcp", None, saddr="127.0.0.1")))
    assert bind[0] == "network-bind" and "network" not in bind
    sig = names(bare.suggest(landlock("scope.signal", None, opid="1", ocomm="init")))
    assert sig[0] == "process-control"


# ---- the snap's own plugs, actions, commands ---------------------------------------------------


def test_a_declared_unconnected_plug_comes_first_with_its_command(sug):
    s = sug.suggest(seccomp("socket", snap="vm-manager", app="vm-manager"))
    assert "network" not in names(s)                      # connected here: left out
    sugs = sug.suggest(seccomp("setpriority", snap="sysmon", app="sysmon"))
    first = sugs[0]
    assert (first.interface, first.action, first.plug) == ("process-control", "connect", "sysmon:process-control")
    assert first.command == "confine connect sysmon:process-control"


def test_connected_interfaces_are_left_out_and_named_in_the_explanation(engine):
    en = Enricher(engine.root, engine)
    d = en(seccomp("socket", snap="vm-manager", app="vm-manager", a0="2"))
    assert "network" not in names(d.suggestions)
    assert "Connected already: network" in d.explanation


def test_declare_and_bind_actions(sug):
    hello = sug.suggest(landlock("fs.read_dir", "/root", snap="hello", app="hello"))[0]
    assert (hello.interface, hello.action, hello.command, hello.plug) == ("home", "declare", None, None)
    assert "hello has no plug of home" in hello.note
    sync = sug.suggest(landlock("fs.read_dir", "/media", snap="notes", app="notes-sync"))[0]
    assert (sync.interface, sync.action, sync.plug) == ("removable-media", "bind", "notes:removable-media")
    assert "apps.notes-sync.plugs" in sync.note


def test_a_slot_on_another_snap_is_named_in_the_command(sug):
    first = sug.suggest(seccomp("bind", snap="container-client", app="client"))[0]
    assert first.interface == "docker"
    assert first.command == "confine connect container-client:docker containerd-lite:docker"
    assert first.super_privileged and "super-privileged" in first.note


def test_super_privileged_after_ordinary(bare):
    sugs = bare.suggest(seccomp("unshare"))
    supers = [s.super_privileged for s in sugs]
    assert supers == sorted(supers)                      # every ordinary one before the first super one


def test_noise_is_marked_likely_harmless_last(bare):
    sugs = bare.suggest(seccomp("sched_setaffinity"))
    assert sugs[0].interface == "process-control"
    assert sugs[-1].action == "ignore" and sugs[-1].note.startswith("likely harmless")
    py = bare.suggest(aa_file("/usr/lib/python3/dist-packages/x/__pycache__/y.pyc", "wc"))
    assert py[-1].action == "ignore"


# ---- explanations ---------------------------------------------------------------------------------


def test_explanations_name_the_app_and_what_was_refused():
    d = seccomp("ptrace", snap="hello", app="hello")
    text = ex.explain(d)
    assert text.startswith("hello.hello was refused the system call ptrace()")
    assert "another process" in text
    assert "only for Unix domain sockets" in ex.explain(seccomp("socket", snap="a", app="b"))
    assert "listing the directory /root (Landlock)" in ex.explain(landlock("fs.read_dir", "/root", "a", "b"))
    assert "binding a TCP socket" in ex.explain(landlock("net.bind_tcp", None, "a", "b", saddr="127.0.0.1"))
    cap = Denial(kind="apparmor", mode="DENIED", operation="capable", capability="sys_module", snap="a", app="b",
                 cls="capability")
    assert "load and unload kernel modules" in ex.explain(cap)
    assert "writing and creating /x" in ex.explain(aa_file("/x", "wc", "a", "b"))
    complain = Denial(kind="seccomp", mode="ALLOWED", syscall="mount", action="log", snap="a", app="b")
    assert "it was only logged" in ex.explain(complain)


def test_every_refused_syscall_of_the_template_has_a_reason():
    from backends.native.seccomp import template

    allowed = set()
    for line in template.TEMPLATE.splitlines():
        r = grammar.parse_line(line, 1)
        if isinstance(r, grammar.Rule) and not r.deny:
            allowed.add(r.syscall)
    import re

    table = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not table.exists():
        pytest.skip("no kernel headers here")
    every = set(re.findall(r"#define __NR_(\w+) ", table.read_text()))
    reasons = ex.syscall_reasons()
    assert sorted(every - allowed - set(reasons)) == []


def test_capability_table_is_complete():
    from backends.native.denials.parser import CAPABILITIES

    _, caps = ex.capability_reasons()
    assert sorted(set(CAPABILITIES) - set(caps)) == []


# ---- the feed over lines, summary, --since ---------------------------------------------------------


def test_parse_lines_fills_explanation_and_suggestions(engine):
    lines = ['type=AVC msg=audit(1700000000.123:102): apparmor="DENIED" operation="open" '
             'profile="snap.notes.notes" name="/media/usb/a.txt" pid=1 comm="x" requested_mask="r" '
             'denied_mask="r" fsuid=0 ouid=0', "not a record"]
    out = list(parse_lines(lines, engine.root))
    assert len(out) == 1
    d = out[0]
    assert (d.snap, d.app, d.line) == ("notes", "notes", 1)
    assert d.suggestions[0].command == "confine connect notes:removable-media"
    rows = summarize(out * 3)
    assert rows == [{"snap": "notes", "app": "notes", "kind": "apparmor", "operation": "open",
                     "target": "/media/usb/a.txt", "count": 3, "suggestion": "removable-media"}]


def test_since():
    now = 1_800_000_000.0
    assert parse_since("10m", now) == now - 600
    assert parse_since("2h", now) == now - 7200
    assert parse_since("1 day ago", now) == now - 86400
    assert parse_since("1700000000", now) == 1700000000.0
    assert parse_since("2026-01-31T12:00:00+00:00", now) == 1769860800.0
    from backends.errors import UsageError

    with pytest.raises(UsageError):
        parse_since("soon", now)
