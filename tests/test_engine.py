"""Install, auto-connect, connect, disconnect, undesired, --forget and remove round-trips."""
from __future__ import annotations

import os

import pytest

from backends.errors import NotFoundError, PrivilegeError, RefusedError, UsageError
from backends.native.engine import NativeBackend
from backends.native.state import StateStore

from sample_snaps import CAM

HELLO = """
name: hello-test
version: '1'
apps:
  run:
    command: bin/run
"""


DOCKERD = """
name: dockerd
version: '1'
plugs:
  docker-support:
    privileged-containers: true
slots:
  docker-daemon:
    interface: docker
apps:
  daemon:
    command: bin/run
"""

CLIENT = """
name: dclient
version: '1'
plugs:
  docker-client:
    interface: docker
apps:
  client:
    command: bin/run
"""

VM = """
name: vmm
version: '1'
apps:
  vmm:
    command: bin/run
    plugs: [multipass-support]
"""

HOME = """
name: homer
version: '1'
apps:
  homer:
    command: bin/run
    plugs: [home]
"""


def rows(engine, **kw):
    return {(r.interface, r.plug, r.slot, r.notes) for r in engine.connections(**kw)}


def state_bytes(root) -> bytes | None:
    p = root / "state.json"
    return p.read_bytes() if p.exists() else None


def test_install_lists_snap_with_apps(engine, make_snap):
    result = engine.install(make_snap(HELLO))
    assert result.snap.name == "hello-test"
    assert result.snap.revision == "x1"
    snaps = engine.snaps()
    assert [s.name for s in snaps] == ["hello-test"]
    assert snaps[0].apps["run"].security_tag == "snap.hello-test.run"
    installed = engine.root / "snaps" / "hello-test" / "x1" / "meta" / "snap.yaml"
    assert installed.is_file()


def test_network_autoconnects_camera_does_not(engine, make_snap):
    result = engine.install(make_snap(CAM))
    assert [(c.plug.ref, c.slot.ref) for c in result.connected] == [("cam:network", ":network")]
    refused = {r.what: r for r in result.not_connected}
    assert refused["cam:camera"].rule == "base-declaration slots.camera.deny-auto-connection"
    assert rows(engine) == {("network", "cam:network", ":network", "-")}
    assert ("camera", "cam:camera", None, "-") in rows(engine, snap="cam")


def test_manual_connect_and_disconnect(engine, make_snap, root):
    engine.install(make_snap(CAM))
    conn = engine.connect("cam:camera")
    assert (conn.plug.ref, conn.slot.ref, conn.manual) == ("cam:camera", ":camera", True)
    assert ("camera", "cam:camera", ":camera", "manual") in rows(engine)
    state = StateStore(root).read()
    assert state["conns"]["cam:camera system:camera"]["auto"] is False
    gone = engine.disconnect("cam:camera")
    assert [c.id for c in gone] == ["cam:camera system:camera"]
    assert "cam:camera system:camera" not in StateStore(root).read()["conns"]
    with pytest.raises(NotFoundError, match="not connected"):
        engine.disconnect("cam:camera")


def test_connect_slot_forms(engine, make_snap):
    engine.install(make_snap(CAM))
    assert engine.connect("cam:camera", ":camera").slot.ref == ":camera"
    engine.disconnect("cam:camera", ":camera")
    assert engine.connect("cam:camera", "system").slot.ref == ":camera"
    engine.disconnect("cam:camera", "system:camera")
    with pytest.raises(RefusedError, match="same interface"):
        engine.connect("cam:camera", ":network")
    with pytest.raises(NotFoundError):
        engine.connect("cam:camera", "hello-none")
    with pytest.raises(UsageError):
        engine.connect("cam")


def test_disconnect_auto_marks_undesired_and_reinstall_keeps_it_off(engine, make_snap, root):
    src = make_snap(CAM)
    engine.install(src)
    gone = engine.disconnect("cam:network")
    assert gone and gone[0].auto
    rec = StateStore(root).read()["conns"]["cam:network system:network"]
    assert rec["undesired"] is True and rec["auto"] is True
    assert ("network", "cam:network", ":network", "undesired") in rows(engine)
    result = engine.install(src)  # a refresh: new revision, undesired stays
    assert result.snap.revision == "x2"
    assert not result.connected
    assert any(r.rule == "undesired" for r in result.not_connected)
    assert not (root / "snaps" / "cam" / "x1").exists()
    # a manual connect clears the mark
    engine.connect("cam:network")
    rec = StateStore(root).read()["conns"]["cam:network system:network"]
    assert (rec["undesired"], rec["auto"]) == (False, False)


def test_forget_drops_the_auto_connection(engine, make_snap, root):
    src = make_snap(CAM)
    engine.install(src)
    engine.disconnect("cam:network", forget=True)
    assert "cam:network system:network" not in StateStore(root).read()["conns"]
    result = engine.install(src)
    assert [c.plug.ref for c in result.connected] == ["cam:network"]
    # --forget also drops an existing undesired mark
    engine.disconnect("cam:network")
    engine.disconnect("cam:network", forget=True)
    assert "cam:network system:network" not in StateStore(root).read()["conns"]


def test_remove_drops_snap_files_and_connections(engine, make_snap, root):
    engine.install(make_snap(CAM))
    engine.connect("cam:camera")
    engine.remove("cam")
    assert engine.snaps() == []
    assert StateStore(root).read()["conns"] == {}
    assert not (root / "snaps" / "cam").exists()
    with pytest.raises(NotFoundError):
        engine.remove("cam")
    # reinstalling after a removal auto-connects again and counts revisions on
    result = engine.install(make_snap(CAM))
    assert result.snap.revision == "x2"
    assert [c.plug.ref for c in result.connected] == ["cam:network"]


@pytest.mark.parametrize("text,iface", [(DOCKERD, "docker-support"), (VM, "multipass-support")])
def test_super_privileged_install_needs_grant(engine, make_snap, root, text, iface):
    src = make_snap(text)
    before = state_bytes(root)
    with pytest.raises(RefusedError) as err:
        engine.install(src)
    assert err.value.rule.endswith("allow-installation")
    assert f"--grant {iface}" in str(err.value)
    assert state_bytes(root) == before
    assert not (root / "snaps").exists() or not any((root / "snaps").iterdir())
    grants = [iface, "docker"] if iface == "docker-support" else [iface]
    result = engine.install(src, grants=grants)
    assert iface in result.snap.grants
    assert iface in StateStore(root).read()["snaps"][result.snap.name]["grants"]
    plug = next(p for p in result.snap.plugs.values() if p.interface == iface)
    assert plug.ref not in [c.plug.ref for c in result.connected]  # never auto-connected
    conn = engine.connect(plug.ref)
    assert conn.slot.ref == f":{iface}"


def test_docker_support_attribute_must_be_bool(engine, make_snap):
    from backends.errors import ManifestError
    src = make_snap(DOCKERD.replace("privileged-containers: true", "privileged-containers: 'yes'"))
    with pytest.raises(ManifestError) as err:
        engine.install(src, grants=["docker-support", "docker"])
    assert err.value.field == "plugs.docker-support.privileged-containers"
    assert err.value.line == 5
    assert "true or false" in err.value.reason


def test_deny_connection_refuses_manual_connect_unless_granted(engine, make_snap, root):
    engine.install(make_snap(CLIENT))
    engine.install(make_snap(DOCKERD), grants=["docker-support", "docker"])
    # the client installed before the daemon; deny-auto-connection keeps them apart
    assert ("docker", "dclient:docker-client", None, "-") in rows(engine, snap="dclient")
    conn = engine.connect("dclient:docker-client", "dockerd")
    assert conn.granted  # docker's deny-connection was overridden by dockerd's grant
    assert StateStore(root).read()["conns"]["dclient:docker-client dockerd:docker-daemon"]["granted"] is True


def test_deny_connection_names_rule(engine, make_snap):
    engine.install(make_snap(HOME.replace("plugs: [home]", "plugs: [home-all]")
                             + "plugs:\n  home-all:\n    interface: home\n    read: all\n"))
    with pytest.raises(RefusedError) as err:
        engine.connect("homer:home-all")
    assert err.value.rule == "base-declaration slots.home.deny-connection"


def test_home_autoconnects_on_classic_only(tmp_path, make_snap):
    src = make_snap(HOME)
    classic = NativeBackend(tmp_path / "classic", system_kind="classic")
    core = NativeBackend(tmp_path / "core", system_kind="core")
    assert [c.slot.ref for c in classic.install(src).connected] == [":home"]
    result = core.install(src)
    assert result.connected == ()
    assert result.not_connected[0].rule == "base-declaration slots.home.deny-auto-connection"


def test_examples_install_in_one_transaction(engine, root):
    results = engine.install_examples()
    names = {r.snap.name for r in results}
    assert {"hello", "webbrowser", "containerd-lite", "container-client", "vm-manager", "sysmon",
            "notes", "snapshot-camera", "nettool"} <= names
    assert all(s.example for s in engine.snaps())
    got = rows(engine)
    assert ("network", "nettool:network", ":network", "-") in got
    assert not any(r[0] == "camera" for r in got)
    granted = {r.snap.name: r.granted for r in results}
    assert "docker-support" in granted["containerd-lite"]
    assert "multipass-support" in granted["vm-manager"]


def test_change_hook_sees_affected_snaps_and_can_abort(engine, make_snap, root):
    seen = []
    engine.change_hooks.append(lambda eng, change: seen.append((change.operation, set(change.affected))))
    engine.install(make_snap(CAM))
    engine.connect("cam:camera")
    assert seen == [("install", {"cam"}), ("connect", {"cam"})]

    def boom(eng, change):
        raise RuntimeError("profile generation failed")
    engine.change_hooks.append(boom)
    before = state_bytes(root)
    with pytest.raises(RuntimeError):
        engine.disconnect("cam:camera")
    assert state_bytes(root) == before


def test_failed_install_leaves_no_files(engine, make_snap, root):
    engine.install(make_snap(HELLO))
    before = state_bytes(root)
    engine.change_hooks.append(lambda eng, change: (_ for _ in ()).throw(RuntimeError("hook failed")))
    with pytest.raises(RuntimeError):
        engine.install(make_snap(CAM))
    assert state_bytes(root) == before
    assert not (root / "snaps" / "cam").exists() or not any((root / "snaps" / "cam").iterdir())


def test_changes_need_root(engine, make_snap, root):
    """A real unprivileged process (forked, euid nobody) is refused and changes nothing."""
    engine.install(make_snap(CAM))
    before = state_bytes(root)
    pid = os.fork()
    if pid == 0:  # child: drop to nobody, try every change
        code = 0
        try:
            os.setegid(65534)
            os.seteuid(65534)
            e = NativeBackend(root)
            for call in (lambda: e.connect("cam:camera"), lambda: e.remove("cam"),
                         lambda: e.disconnect("cam:network"), lambda: e.install("/nonexistent")):
                try:
                    call()
                    code = 3
                except PrivilegeError:
                    pass
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert state_bytes(root) == before


def test_system_snap_slots_follow_system_kind(tmp_path):
    classic = NativeBackend(tmp_path / "a", system_kind="classic").system_snap()
    core = NativeBackend(tmp_path / "b", system_kind="core").system_snap()
    assert "network" in classic.slots and "network" in core.slots
    assert classic.slots["network"].ref == ":network"
    assert "docker" not in classic.slots  # an app-provided slot only
