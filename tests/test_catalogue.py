"""The interface catalogue: every file valid, the required interfaces present, conditions work."""
from __future__ import annotations

import pytest

from backends.errors import CatalogueError
from backends.native.interfaces.catalogue import load_catalogue, load_interface, select_snippets

REQUIRED = """docker-support multipass-support docker network network-bind network-status network-observe
network-control network-manager firewall-control home removable-media personal-files system-files camera
audio-playback audio-record pulseaudio opengl x11 wayland desktop desktop-legacy gsettings unity7
browser-support joystick raw-usb serial-port hidraw hardware-observe system-observe mount-observe
process-control log-observe kernel-module-control bluez cups-control ssh-keys kvm u2f-devices
screen-inhibit-control upower-observe optical-drive content shared-memory""".split()


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def test_at_least_45_interfaces_and_all_required(cat):
    assert len(cat) >= 45
    assert sorted(set(REQUIRED) - set(cat)) == []


def test_every_interface_has_label_summary_and_policy(cat):
    for iface in cat.values():
        assert iface.label and iface.summary, iface.name
        assert iface.snippets, f"{iface.name} grants nothing"


def test_docker_support_privileged_rules_need_the_attribute(cat):
    iface = cat["docker-support"]
    assert iface.super_privileged and iface.controls_device_cgroup
    assert iface.plug_attributes["privileged-containers"]["type"] == "bool"
    plain = select_snippets(iface, "connected-plug", {"privileged-containers": False}, {}, "classic")
    privileged = select_snippets(iface, "connected-plug", {"privileged-containers": True}, {}, "classic")
    assert len(privileged) == len(plain) + 1
    assert "@unrestricted" in privileged[-1]["seccomp"]
    assert not any("@unrestricted" in b.get("seccomp", "") for b in plain)
    assert any("overlay" in b.get("kernel-modules", []) for b in plain)
    # the string "true" is not the bool true: conditions compare types too
    assert select_snippets(iface, "connected-plug", {"privileged-containers": "true"}, {}, "classic") == plain


def test_core_only_rules(cat):
    iface = cat["docker-support"]
    classic = select_snippets(iface, "connected-plug", {"privileged-containers": False}, {}, "classic")
    core = select_snippets(iface, "connected-plug", {"privileged-containers": False}, {}, "core")
    assert len(core) == len(classic) + 1
    assert "/system-data/" in core[-1]["apparmor"]


def test_multipass_support(cat):
    iface = cat["multipass-support"]
    assert iface.super_privileged and iface.base_declaration["plugs"]["allow-installation"] is False


def test_each_expands_list_attributes(cat):
    iface = cat["personal-files"]
    blocks = select_snippets(iface, "connected-plug", {"read": ["$HOME/.config/a", "$HOME/.b"]}, {}, "classic")
    text = "".join(b.get("apparmor", "") for b in blocks)
    assert "$HOME/.config/a" in text and "$HOME/.b" in text and "{{item}}" not in text


def test_implicit_slots(cat):
    assert cat["network"].implicit_on_classic and cat["network"].implicit_on_core
    assert not cat["docker"].implicit_on_classic and not cat["docker"].implicit_on_core


def _write(tmp_path, name, text):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("text,line,field", [
    ("name: x1\nsummary: s\nlabel: l\n", 1, "name"),                           # not the file name
    ("name: t\nsummary: s\nlabel: l\nbogus: 1\n", 4, "bogus"),
    ("name: t\nsummary: s\nlabel: l\nsnippets:\n  - for: somewhere\n", 5, "snippets.0.for"),
    ("name: t\nsummary: s\nlabel: l\nbase-declaration:\n  plugs:\n    allow-installation:\n      snap-type: [app]\n",
     7, "base-declaration.plugs.allow-installation.snap-type"),
    ("name: t\nsummary: s\nlabel: l\nattributes:\n  plug:\n    a:\n      type: float\n", 7, "attributes.plug.a.type"),
    ("name: t\nsummary: s\nlabel: l\nsnippets:\n  - for: connected-plug\n    when:\n      plug-attributes: {x: 1}\n",
     7, "snippets.0.when.plug-attributes.x"),
    ("name: t\nsummary: s\nlabel: l\nbase-declaration:\n  plugs:\n    allow-installation: false\n"
     "  slots:\n    deny-auto-connection: true\n", 8, "base-declaration.slots.deny-auto-connection"),
])
def test_bad_interface_files_name_line_and_field(tmp_path, text, line, field):
    with pytest.raises(CatalogueError) as err:
        load_interface(_write(tmp_path, "t", text))
    assert (err.value.line, err.value.field) == (line, field)
