"""udev rules and device matches: generated from the example snaps, matched against
the real devices pyudev lists from /sys (no udevd runs here) and against dicts."""
from __future__ import annotations

import os
import re

import pytest

from backends.model import Snap
from backends.native.engine import NativeBackend
from backends.native.profiles.context import Grant, TagContext
from backends.native.udev import rules as udev
from backends.native.udev.rules import (device_matches, device_number, generate_rules, matches, matching_devices,
                                        subsystems_of, udev_tag)

from tag_contexts import contexts, examples_backend

RULE = re.compile(r'^(?:(?:SUBSYSTEM|KERNEL)=="[^"]+"|(?:ATTRS|ENV)\{[A-Za-z0-9_]+\}=="[^"]+")'
                  r'(?:, (?:(?:SUBSYSTEM|KERNEL)=="[^"]+"|(?:ATTRS|ENV)\{[A-Za-z0-9_]+\}=="[^"]+"))*'
                  r', TAG\+="snap_[a-z0-9_-]+"$')


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> NativeBackend:
    return examples_backend(tmp_path_factory.mktemp("udev") / "root")


def rule_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_camera_example_gets_a_video4linux_tag_line(examples):
    text = generate_rules(contexts(examples, "snapshot-camera"))
    tag = "snap_snapshot-camera_snapshot-camera"
    assert f'SUBSYSTEM=="video4linux", KERNEL=="video[0-9]*", TAG+="{tag}"' in text.splitlines()
    helper = f'TAG=="{tag}", SUBSYSTEM!="module", SUBSYSTEM!="subsystem", RUN+="{udev.DEVICE_HELPER} {tag}"'
    assert helper in text.splitlines()
    assert text.startswith("# udev rules of snap 'snapshot-camera'")
    assert "hotplug monitor" in text  # the header says who does the helper's job without udevd


def test_snaps_without_device_matches_get_no_rules(examples):
    for name in ("hello", "notes", "nettool", "container-client"):
        assert generate_rules(contexts(examples, name)) == "", name


def test_every_example_rule_line_is_well_formed_sorted_and_unique(examples):
    for snap in examples.snaps():
        text = generate_rules(contexts(examples, snap.name))
        sections = text.split("\n\n")[1:] if text else []
        for section in sections:
            lines = rule_lines(section)
            tag_lines, helper = lines[:-1], lines[-1]
            assert tag_lines == sorted(set(tag_lines)), snap.name
            assert all(RULE.match(line) for line in tag_lines), tag_lines
            assert helper.startswith('TAG=="snap_') and "RUN+=" in helper


def test_rules_are_deterministic(examples):
    first = generate_rules(contexts(examples, "webbrowser"))
    assert first and first == generate_rules(list(reversed(contexts(examples, "webbrowser"))))


def test_disconnect_drops_the_rules(tmp_path):
    b = NativeBackend(tmp_path / "root", system_kind="classic", profiles=False)
    b.install_examples()
    b.connect("snapshot-camera:camera")
    assert generate_rules(contexts(b, "snapshot-camera"))
    b.disconnect("snapshot-camera:camera")
    assert generate_rules(contexts(b, "snapshot-camera")) == ""


def test_tag_names_as_snapd_writes_them():
    assert udev_tag("snap.foo.app") == "snap_foo_app"
    assert udev_tag("snap.foo.hook.configure") == "snap_foo_hook_configure"


def _ctx(tag: str, *bodies: tuple[str, list]) -> TagContext:
    snap = Snap(name="dev", version="1", revision="x1", path="/snaps/dev/x1")
    app = tag.split(".")[2] if ".hook." not in tag else None
    hook = tag.rsplit(".", 1)[1] if ".hook." in tag else None
    grants = tuple(Grant(iface, "connected-plug", "dev:p", ":s", ("unconfined",), {"udev": m}) for iface, m in bodies)
    return TagContext(tag, snap, app, hook, "classic", grants)


def test_hook_tags_attrs_env_and_dedup():
    hook = _ctx("snap.dev.hook.install",
                ("u2f-devices", [{"subsystem": "hidraw", "kernel": "hidraw*", "attrs": {"idVendor": "1050", "idProduct": "0113"}}]),
                ("block-devices", [{"subsystem": "block", "env": {"DEVTYPE": "partition"}}]),
                ("other", [{"subsystem": "block", "env": {"DEVTYPE": "partition"}}]))
    app = _ctx("snap.dev.app", ("kvm", [{"subsystem": "misc", "kernel": "kvm"}]))
    text = generate_rules([hook, app])
    lines = text.splitlines()
    assert 'SUBSYSTEM=="hidraw", KERNEL=="hidraw*", ATTRS{idProduct}=="0113", ATTRS{idVendor}=="1050", ' \
           'TAG+="snap_dev_hook_install"' in lines
    assert lines.count('SUBSYSTEM=="block", ENV{DEVTYPE}=="partition", TAG+="snap_dev_hook_install"') == 1
    assert 'SUBSYSTEM=="misc", KERNEL=="kvm", TAG+="snap_dev_app"' in lines
    assert "# snap.dev.hook.install: block-devices, other, u2f-devices" in lines
    # structured form: one entry per distinct match, naming every interface that grants it
    dm = device_matches(hook)
    assert {"subsystem": "block", "env": {"DEVTYPE": "partition"}, "interfaces": ["block-devices", "other"]} in dm
    assert subsystems_of(text) == ({"hidraw", "block", "misc"}, False)


def test_values_that_cannot_be_written_are_refused():
    with pytest.raises(ValueError):
        generate_rules([_ctx("snap.dev.app", ("x", [{"kernel": 'a", RUN+="/bin/sh'}]))])


# --- serial-port and hidraw narrowed to the slot's device ------------------------

GADGET = """
name: board
version: '1'
type: gadget
slots:
  console:
    interface: serial-port
    path: /dev/ttyS0
  adapter:
    interface: serial-port
    path: /dev/serial-port-ftdi
    usb-vendor: 0x0403
    usb-product: 0x6001
  second-port:
    interface: serial-port
    path: /dev/serial-port-quad
    usb-vendor: 0x0403
    usb-product: 0x6011
    usb-interface-number: 1
  sensor:
    interface: hidraw
    path: /dev/hidraw3
  ups:
    interface: hidraw
    path: /dev/hidraw-ups
    usb-vendor: 0x0463
    usb-product: 0xffff
"""

USER = """
name: serial-user
version: '1'
plugs:
  console: {interface: serial-port}
  adapter: {interface: serial-port}
  second-port: {interface: serial-port}
  sensor: {interface: hidraw}
  ups: {interface: hidraw}
apps:
  term:
    command: bin/run
    plugs: [console]
  flash:
    command: bin/run
    plugs: [adapter, second-port]
  hid:
    command: bin/run
    plugs: [sensor, ups]
"""


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    from conftest import write_snap

    base = tmp_path_factory.mktemp("serial")
    b = NativeBackend(base / "root", system_kind="core", profiles=False)
    b.install(write_snap(base, GADGET))
    b.install(write_snap(base, USER))
    for plug in ("console", "adapter", "second-port", "sensor", "ups"):
        b.connect(f"serial-user:{plug}", f"board:{plug}")
    return {c.app: c for c in contexts(b, "serial-user")}


def test_serial_port_by_path_is_narrowed_to_one_device(serial):
    ctx = serial["term"]
    assert [{k: v for k, v in m.items() if k != "interfaces"} for m in device_matches(ctx)] == \
        [{"subsystem": "tty", "kernel": "ttyS0"}]
    fs = [r for _, rules in ctx.bodies("filesystem") for r in rules]
    assert fs == [{"path": "/dev/ttyS0", "access": "rw"}]
    apparmor = "".join(a for _, a in ctx.bodies("apparmor"))
    assert "/dev/ttyS0 rwk," in apparmor and "/dev/tty{" not in apparmor and "/dev/ttyUSB" not in apparmor
    text = generate_rules([ctx])
    assert rule_lines(text)[0] == 'SUBSYSTEM=="tty", KERNEL=="ttyS0", TAG+="snap_serial-user_term"'


def test_serial_port_by_usb_ids(serial):
    dm = [{k: v for k, v in m.items() if k != "interfaces"} for m in device_matches(serial["flash"])]
    assert dm == [
        {"subsystem": "tty", "attrs": {"idProduct": "6001", "idVendor": "0403"}},
        {"subsystem": "tty", "attrs": {"idProduct": "6011", "idVendor": "0403"}, "env": {"ID_USB_INTERFACE_NUM": "01"}},
    ]
    text = generate_rules([serial["flash"]])
    assert 'SUBSYSTEM=="tty", ATTRS{idProduct}=="6001", ATTRS{idVendor}=="0403", TAG+="snap_serial-user_flash"' \
        in text.splitlines()


def test_hidraw_narrowed(serial):
    dm = [{k: v for k, v in m.items() if k != "interfaces"} for m in device_matches(serial["hid"])]
    assert dm == [{"subsystem": "hidraw", "attrs": {"idProduct": "ffff", "idVendor": "0463"}},
                  {"subsystem": "hidraw", "kernel": "hidraw3"}]
    apparmor = "".join(a for _, a in serial["hid"].bodies("apparmor"))
    assert "/dev/hidraw3 rw," in apparmor and "HID device 0463:ffff" in apparmor


def test_serial_port_match_selects_only_that_real_device(serial):
    ttys = [d for d in matching_devices(device_matches(serial["term"]))]
    if not os.path.exists("/sys/class/tty/ttyS0"):
        assert ttys == []
        pytest.skip("this machine has no ttyS0")
    assert [d.sys_name for d in ttys] == ["ttyS0"]
    assert device_number(ttys[0]) == ("c", 4, 64)


# --- matches() against real devices and dicts --------------------------------------

def test_matches_real_null_device():
    found = matching_devices([{"subsystem": "mem", "kernel": "null"}])
    assert [d.sys_name for d in found] == ["null"]
    null = found[0]
    assert device_number(null) == ("c", 1, 3)
    assert matches({"subsystem": "mem", "kernel": "nu?l"}, null)
    assert matches({"kernel": "zero|null"}, null)
    assert matches({"attrs": {"dev": "1:*"}}, null)
    assert matches({"env": {"DEVNAME": "/dev/null"}}, null)
    assert not matches({"subsystem": "mem", "kernel": "zero"}, null)
    assert not matches({"subsystem": "misc", "kernel": "null"}, null)
    assert not matches({"env": {"DEVNAME": "/dev/nul*"}}, null)   # env is equality, not a glob
    assert not matches({"attrs": {"nonexistent": "*"}}, null)


def test_matches_ignores_extra_keys_of_device_matches():
    null = matching_devices([{"subsystem": "mem", "kernel": "null"}])[0]
    assert matches({"subsystem": "mem", "kernel": "null", "interfaces": ["x"]}, null)


def test_no_udev_properties_here_so_id_matches_fail():
    # No udevd: no ID_* properties, so a joystick-style env match selects nothing.
    assert matching_devices([{"subsystem": "input", "env": {"ID_INPUT_JOYSTICK": "1"}}]) == []


def test_attrs_walk_up_to_a_parent_on_a_real_device():
    import pyudev

    try:
        tty = pyudev.Devices.from_name(pyudev.Context(), "tty", "ttyS0")
    except Exception:
        pytest.skip("no ttyS0 here")
    chain = []
    d = tty
    while d is not None:
        chain.append(d)
        d = d.parent
    with_id = [d for d in chain[1:] if d.attributes.get("id")]
    if not with_id:
        pytest.skip("no parent with an id attribute")
    ident = with_id[0].attributes.get("id").decode().strip()
    assert matches({"subsystem": "tty", "attrs": {"id": ident}}, tty)
    assert matches({"subsystem": "tty", "attrs": {"id": ident[:3] + "*"}}, tty)
    # every ATTRS of a rule must hold on one and the same device
    assert not matches({"subsystem": "tty", "attrs": {"id": ident, "dev": "4:64"}}, tty)


def usb_serial(vendor="0403", product="6011", iface="01", name="ttyUSB0"):
    usb_device = {"subsystem": "usb", "sys_name": "1-1", "properties": {"DEVTYPE": "usb_device"},
                  "attributes": {"idVendor": vendor + "\n", "idProduct": product}, "parent": None}
    usb_iface = {"subsystem": "usb", "sys_name": f"1-1:1.{int(iface)}", "properties": {"DEVTYPE": "usb_interface"},
                 "attributes": {"bInterfaceNumber": iface}, "parent": usb_device}
    return {"subsystem": "tty", "sys_name": name, "properties": {"DEVNAME": f"/dev/{name}", "MAJOR": "188",
                                                                "MINOR": "0"},
            "attributes": {"dev": "188:0"}, "parent": usb_iface}


def test_matches_dict_devices(serial):
    dev = usb_serial()
    by_ids = {"subsystem": "tty", "attrs": {"idVendor": "0403", "idProduct": "6011"}}
    assert matches(by_ids, dev)                      # found on the grandparent; trailing newline ignored
    assert not matches(dict(by_ids, attrs={"idVendor": "0403", "idProduct": "6001"}), dev)
    # the interface number is derived from sysfs where udev's usb_id did not set it
    assert matches(dict(by_ids, env={"ID_USB_INTERFACE_NUM": "01"}), dev)
    assert not matches(dict(by_ids, env={"ID_USB_INTERFACE_NUM": "00"}), dev)
    assert device_number(dev) == ("c", 188, 0)
    flash = device_matches(serial["flash"])
    assert any(matches(m, dev) for m in flash)
    assert not any(matches(m, usb_serial(iface="02")) for m in flash)
    assert not any(matches(m, usb_serial(vendor="10c4")) for m in flash)
    assert any(matches(m, usb_serial(product="6001", iface="00")) for m in flash)


def test_launcher_side_modules_import_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, backends.native.udev.rules, backends.native.landlock.rules, backends.native.launch.plan\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('yaml', 'ruamel', 'pyudev', 'pyseccomp', "
            "'seccomp', 'textual')]\nprint(heavy)\nsys.exit(1 if heavy else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stdout + proc.stderr
