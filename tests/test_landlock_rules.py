"""Landlock rules: base rules, interface filesystem rules, network and scopes from the
interfaces' data, and a rights table the running kernel accepts."""
from __future__ import annotations

import ctypes
import json
import os

import pytest

from backends.model import Snap
from backends.native.landlock.rules import (FILE_RIGHTS, FS_RIGHTS, MAX_ABI, denies_network, generate,
                                            rights_for, rights_table)
from backends.native.profiles.context import Grant, TagContext

from tag_contexts import context, examples_backend


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return examples_backend(tmp_path_factory.mktemp("landlock") / "root")


def fs_of(rules):
    return {r["path"]: r for r in rules["fs"]}


def test_base_rules_of_an_app_without_plugs(examples):
    rules = generate(context(examples, "snap.hello.hello"))
    fs = fs_of(rules)
    assert fs["$SNAP"]["access"] == "rx"
    for p in ("/usr", "/bin", "/sbin", "/lib", "/lib64"):
        assert fs[p]["access"] == "rx", p
    assert fs["/etc"]["access"] == "r" and fs["/proc"]["access"] == "r" and fs["/sys"]["access"] == "r"
    for p in ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts", "/tmp",
              "$SNAP_DATA", "$SNAP_COMMON", "$SNAP_USER_DATA", "$SNAP_USER_COMMON"):
        assert fs[p]["access"] == "rw", p
    assert all("w" not in r["access"] for p, r in fs.items() if p in ("/usr", "/etc", "/proc", "/sys"))
    assert not any(p.startswith("$SNAP_REAL_HOME") or p == "/home" for p in fs)
    assert rules["schema"] == 1 and rules["tag"] == "snap.hello.hello" and rules["missing"] == "skip"


def test_interface_filesystem_rules_are_included(examples):
    fs = fs_of(generate(context(examples, "snap.notes.notes")))
    # home: $HOME/* (a pattern expanded at launch); $HOME is the real home, named unambiguously
    assert fs["$SNAP_REAL_HOME/*"]["pattern"] is True
    assert fs["$SNAP_REAL_HOME/*"]["from"] == ["home"]
    assert "w" in fs["$SNAP_REAL_HOME/*"]["access"]
    removable = [r for r in fs.values() if "removable-media" in r["from"]]
    assert removable and all(r["path"].startswith(("/media", "/mnt", "/run/media")) for r in removable)
    # notes-sync is bound to home only: no removable media
    sync = fs_of(generate(context(examples, "snap.notes.notes-sync")))
    assert not [r for r in sync.values() if "removable-media" in r["from"]]
    cam = fs_of(generate(context(examples, "snap.snapshot-camera.snapshot-camera")))
    assert cam["/dev/video*"] == {"path": "/dev/video*", "access": "rw", "from": ["camera"], "pattern": True}


def test_rules_under_a_covering_directory_are_dropped(examples):
    fs = fs_of(generate(context(examples, "snap.nettool.nettool")))
    assert "/etc/hosts" not in fs and "/etc/ssl" not in fs          # /etc is readable already
    assert fs["/run/dbus/system_bus_socket"]["access"] == "rw"     # not covered: kept


def test_no_network_interface_means_tcp_denied(examples):
    for tag in ("snap.hello.hello", "snap.notes.notes", "snap.snapshot-camera.snapshot-camera"):
        rules = generate(context(examples, tag))
        assert rules["network"]["handled"] == ["bind_tcp", "connect_tcp"], tag
        assert rules["network"]["allowed"] == [] and rules["network"]["min-abi"] == 4
        assert denies_network(rules)


def test_network_interfaces_lift_tcp_rights(examples):
    rules = generate(context(examples, "snap.nettool.nettool"))
    assert rules["network"]["handled"] == [] and not denies_network(rules)
    assert rules["network"]["granted-by"] == {"bind_tcp": ["network-bind"], "connect_tcp": ["network", "network-bind"]}
    browser = generate(context(examples, "snap.webbrowser.webbrowser"))["network"]
    assert browser["allowed"] == ["connect_tcp"] and browser["handled"] == ["bind_tcp"]


def test_scopes(examples):
    hello = generate(context(examples, "snap.hello.hello"))["scope"]
    assert hello["handled"] == ["abstract_unix_socket", "signal"] and hello["min-abi"] == 6
    sysmon = generate(context(examples, "snap.sysmon.sysmon"))["scope"]
    assert sysmon["handled"] == ["abstract_unix_socket"] and sysmon["lifted-by"] == {"signal": ["process-control"]}
    browser = generate(context(examples, "snap.webbrowser.webbrowser"))["scope"]
    assert "abstract_unix_socket" in browser["lifted"]                 # x11's abstract socket


def test_network_after_disconnect(tmp_path):
    b = examples_backend(tmp_path / "root")
    b.disconnect("nettool:network")
    b.disconnect("nettool:network-bind")
    assert denies_network(generate(context(b, "snap.nettool.nettool")))


def test_rights_table():
    table = rights_table()
    assert sorted(table, key=int) == [str(i) for i in range(1, MAX_ABI + 1)]
    assert table["1"]["r"] == ["read_file", "read_dir"] and table["1"]["x"] == ["execute"]
    assert "refer" not in table["1"]["w"] and "refer" in table["2"]["w"]
    assert "truncate" in table["3"]["w"] and "truncate" not in table["2"]["w"]
    assert "ioctl_dev" in table["5"]["w"] and "ioctl_dev" not in table["4"]["w"]
    assert len(table["1"]["handled"]) == 13 and len(table["7"]["handled"]) == 16
    for entry in table.values():
        granted = {r for k in "rwx" for r in entry[k]}
        assert "make_char" not in granted and "make_block" not in granted
        assert granted <= set(entry["handled"])
    assert rights_for("rx", 1) == ["execute", "read_file", "read_dir"]
    assert set(FILE_RIGHTS) <= {n for n, _ in FS_RIGHTS}


def test_deterministic_and_jsonable(examples):
    ctx = context(examples, "snap.webbrowser.webbrowser")
    a = json.dumps(generate(ctx), sort_keys=True)
    assert a == json.dumps(generate(ctx), sort_keys=True)
    assert json.loads(a)["fs"] == sorted(json.loads(a)["fs"], key=lambda r: r["path"])


def test_merges_letters_of_one_path():
    snap = Snap(name="m", version="1", revision="x1", path="/s")
    grants = (Grant("a", "connected-plug", "m:a", ":a", (), {"filesystem": [{"path": "/srv/x/", "access": "r"}]}),
              Grant("b", "connected-plug", "m:b", ":b", (), {"filesystem": [{"path": "/srv/x", "access": "xw"}]}))
    fs = fs_of(generate(TagContext("snap.m.m", snap, "m", None, "classic", grants)))
    assert fs["/srv/x"] == {"path": "/srv/x", "access": "rwx", "from": ["a", "b"]}


# --- the names and ABIs of the table, checked against the running kernel ----------

_NR_CREATE = 444


def _kernel_abi() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(ctypes.c_long(_NR_CREATE), None, ctypes.c_size_t(0), ctypes.c_uint32(1))


def _create(fs_bits: int, net_bits: int = 0, scoped: int = 0) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    attr = (ctypes.c_uint64 * 3)(fs_bits, net_bits, scoped)
    size = 24 if scoped else (16 if net_bits else 8)
    fd = libc.syscall(ctypes.c_long(_NR_CREATE), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    err = ctypes.get_errno()
    if fd >= 0:
        os.close(fd)
        return 0
    return err


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall number for x86-64")
def test_rights_table_matches_the_kernel():
    abi = _kernel_abi()
    if abi < 1:
        pytest.skip("no Landlock here")
    bit = {name: 1 << i for i, (name, _) in enumerate(FS_RIGHTS)}   # FS_RIGHTS is in kernel bit order
    entry = rights_table()[str(min(abi, MAX_ABI))]
    handled = sum(bit[n] for n in entry["handled"])
    assert _create(handled) == 0
    if abi < MAX_ABI:
        newer = rights_table()[str(abi + 1)]["handled"]
        extra = sum(bit[n] for n in newer) & ~handled
        if extra:
            assert _create(handled | extra) != 0
    assert _create(handled | (1 << len(FS_RIGHTS))) != 0        # no right beyond those listed
    if abi >= 4:
        assert _create(handled, net_bits=0b11) == 0              # bind_tcp, connect_tcp
    if abi >= 6:
        assert _create(handled, net_bits=0b11, scoped=0b11) == 0  # abstract_unix_socket, signal


# --- the `landlock` snippet key of the interface format ------------------------------

@pytest.mark.parametrize("body, field", [
    ("    landlock:\n      network: [listen]\n", "snippets.0.landlock.network"),
    ("    landlock:\n      mount: false\n", "snippets.0.landlock.mount"),
    ("    landlock:\n      mount: [yes]\n", "snippets.0.landlock.mount"),
    ("    filesystem:\n      - path: /srv\n        access: rq\n", "snippets.0.filesystem.0.access"),
    ("    landlock:\n      scopes: [signal]\n", "snippets.0.landlock.scopes"),
    ("    landlock: [connect]\n", "snippets.0.landlock"),
    ("    landlock:\n      unscoped: []\n", "snippets.0.landlock.unscoped"),
])
def test_bad_landlock_keys_name_line_and_field(tmp_path, body, field):
    from backends.errors import CatalogueError
    from backends.native.interfaces.catalogue import load_interface

    f = tmp_path / "t.yaml"
    f.write_text("name: t\nsummary: s\nlabel: l\nsnippets:\n  - for: connected-plug\n" + body)
    with pytest.raises(CatalogueError) as err:
        load_interface(f)
    assert err.value.field == field and err.value.line in (6, 7, 8)


def test_catalogue_network_interfaces_say_what_they_keep():
    from backends.native.interfaces.catalogue import load_catalogue

    cat = load_catalogue()
    kept = {name: sorted({w for b in iface.snippets for w in (b.get("landlock") or {}).get("network", [])})
            for name, iface in cat.items()}
    assert kept["network"] == ["connect"] and kept["network-bind"] == ["bind", "connect"]
    assert kept["network-observe"] == [] and kept["home"] == [] and kept["camera"] == []


# --- `l`: listing a directory (read_dir alone) ---------------------------------------

def test_home_lists_the_home_directory_itself(examples):
    """home grants `$HOME/*` (entries without a leading dot) and `l` on $HOME itself, so
    the app may list its home; `l` is read_dir only."""
    fs = fs_of(generate(context(examples, "snap.notes.notes")))
    assert fs["$SNAP_REAL_HOME"] == {"path": "$SNAP_REAL_HOME", "access": "l", "from": ["home"]}
    assert fs["$SNAP_REAL_HOME/*"]["access"] == "rw"
    assert rights_table()["7"]["l"] == ["read_dir"] and rights_for("l", 1) == ["read_dir"]
    hello = fs_of(generate(context(examples, "snap.hello.hello")))
    assert "$SNAP_REAL_HOME" not in hello                           # home is not hello's


def test_l_merges_into_r_and_coverage_counts_rights():
    snap = Snap(name="m", version="1", revision="x1", path="/s")

    def fs(*rules):
        grants = tuple(Grant(f"i{n}", "connected-plug", f"m:i{n}", f":i{n}", (), {"filesystem": [r]})
                       for n, r in enumerate(rules))
        return fs_of(generate(TagContext("snap.m.m", snap, "m", None, "classic", grants)))

    assert fs({"path": "/srv/a", "access": "l"}, {"path": "/srv/a", "access": "r"})["/srv/a"]["access"] == "r"
    assert fs({"path": "/srv/a", "access": "lw"})["/srv/a"]["access"] == "wl"
    # a list-only rule under a readable directory adds nothing; a readable one under a listable one does
    assert "/srv/a/b" not in fs({"path": "/srv/a", "access": "r"}, {"path": "/srv/a/b", "access": "l"})
    assert fs({"path": "/srv/a", "access": "l"}, {"path": "/srv/a/b", "access": "r"})["/srv/a/b"]["access"] == "r"
    assert "/etc/x" not in fs({"path": "/etc/x", "access": "l"})                 # /etc is readable (base)


# --- `landlock: {mount: true}`: interfaces that let the app mount ---------------------

MOUNT_CALLS = {"mount", "umount", "umount2", "pivot_root", "fsopen", "fsmount", "fsconfig", "fspick", "move_mount",
               "open_tree", "mount_setattr"}


def test_mount_grants_are_recorded(examples):
    assert generate(context(examples, "snap.containerd-lite.daemon"))["mount-granted-by"] == ["docker-support"]
    for tag in ("snap.containerd-lite.ctl", "snap.hello.hello", "snap.vm-manager.vm-manager"):
        assert generate(context(examples, tag))["mount-granted-by"] == [], tag


def test_catalogue_interfaces_that_grant_mounting_say_so():
    """Every snippet whose seccomp allows a mount call declares `landlock: {mount: true}`,
    and no other does: the plan skips Landlock exactly for the apps that may mount."""
    from backends.native.interfaces.catalogue import load_catalogue

    says, grants = set(), set()
    for name, iface in load_catalogue().items():
        for block in iface.snippets:
            words = {ln.split()[0] for ln in (block.get("seccomp") or "").splitlines()
                     if ln.strip() and not ln.lstrip().startswith("#")}
            if words & MOUNT_CALLS:
                grants.add(name)
            if (block.get("landlock") or {}).get("mount") is True:
                says.add(name)
                assert words & MOUNT_CALLS, f"{name}: landlock mount in a block whose seccomp grants no mount"
    assert says == grants == {"docker-support", "fuse-support", "network-control"}
