"""confine doctor: real facts of this machine (see /work/shared/FACTS.md)."""

import ctypes
import json
import os
import subprocess
import sys

import pytest

from backends.native import doctor

ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def layers():
    return {layer.name: layer for layer in doctor.probe()}


def test_all_layers_reported_in_order():
    names = [layer.name for layer in doctor.probe()]
    assert names == list(doctor.LAYER_NAMES)
    assert names == [
        "seccomp", "landlock", "apparmor-kernel", "apparmor-parser", "cgroup-v1-devices",
        "cgroup-v2-device-bpf", "mount-namespace", "pid-namespace", "user-namespace",
        "audit-netlink", "udevd", "kernel-modules",
    ]


def test_layer_is_frozen(layers):
    layer = layers["seccomp"]
    with pytest.raises(Exception):
        layer.available = False  # type: ignore[misc]


def test_seccomp(layers):
    sc = layers["seccomp"]
    assert sc.available, sc.detail
    assert "log" in sc.facts["actions"]
    assert "user_notif" in sc.facts["actions"]
    assert sc.facts["user_notif"] is True
    assert sc.facts["flags"]["log"] is True
    assert sc.facts["flags"]["new_listener"] is True
    # The probe installed filters only in a child: this process is unfiltered.
    status = open("/proc/self/status").read()
    assert "\nSeccomp:\t0\n" in status


def test_landlock_abi_matches_syscall(layers):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(ctypes.c_long(444), ctypes.c_void_p(None), ctypes.c_size_t(0),
                       ctypes.c_uint32(1))
    ll = layers["landlock"]
    assert ll.available, ll.detail
    assert isinstance(ll.facts["abi"], int) and ll.facts["abi"] > 0
    assert ll.facts["abi"] == abi
    assert ll.facts["abi"] >= 1


def test_apparmor_kernel_absent(layers):
    aa = layers["apparmor-kernel"]
    assert not aa.available
    assert "not in this kernel" in aa.detail
    assert "never loaded" in aa.detail
    assert "apparmor" not in (aa.facts["lsms"] or [])
    assert "landlock" in aa.facts["lsms"]


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_namespaces_as_root(layers):
    for name in ("mount-namespace", "pid-namespace", "user-namespace"):
        assert layers[name].available, layers[name].detail
    assert layers["user-namespace"].facts["unprivileged_allowed"] is True


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_audit_netlink_as_root(layers):
    au = layers["audit-netlink"]
    assert au.available, au.detail
    assert au.facts["multicast_readlog"] is True
    assert au.facts["enabled"] in (0, 1, 2)
    assert isinstance(au.facts["pid"], int)


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_cgroups(layers):
    assert layers["cgroup-v1-devices"].facts["mount_point"] == "/sys/fs/cgroup/devices"
    v2 = layers["cgroup-v2-device-bpf"]
    assert v2.available, v2.detail
    assert v2.facts["mount_point"]


def test_udevd_detail(layers):
    ud = layers["udevd"]
    if not ud.available:
        assert "device tags are never applied" in ud.detail


def test_probe_json_serialisable():
    data = doctor.probe_json()
    text = json.dumps(data)
    assert json.loads(text) == data
    assert {d["name"] for d in data} == set(doctor.LAYER_NAMES)
    for d in data:
        assert set(d) == {"name", "available", "detail", "facts"}
        assert isinstance(d["available"], bool)


def test_format_report(layers):
    text = doctor.format_report(list(layers.values()))
    lines = text.splitlines()
    assert len(lines) == len(doctor.LAYER_NAMES) + 1
    # Columns align: the yes/no column starts at the same offset on every row.
    col = lines[0].index("OK")
    for line in lines[1:]:
        assert line[col:col + 3] in ("yes", "no ")
    assert "apparmor-kernel" in text
    # dicts from probe_json are accepted too
    assert doctor.format_report(doctor.probe_json()).splitlines()[0] == lines[0]


def test_probe_never_raises_when_a_probe_breaks(monkeypatch):
    def boom():
        raise RuntimeError("kaput")

    monkeypatch.setattr(doctor, "_PROBES", (("seccomp", boom),) + doctor._PROBES[1:])
    result = doctor.probe()
    assert result[0].name == "seccomp" and not result[0].available
    assert "kaput" in result[0].detail


def test_import_stays_light():
    code = (
        "import sys, backends.native.doctor\n"
        "bad = [m for m in ('textual', 'rich', 'yaml', 'seccomp', 'pyseccomp')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, timeout=30)
    assert out.stdout.strip() == ""
