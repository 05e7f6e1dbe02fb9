"""AppArmor glob semantics of the denials suggester (backends/native/denials/globs.py)."""
from __future__ import annotations

import pytest

from backends.native.denials.globs import GlobError, compile_glob, literal_length, match

CASES = [
    # star: no "/", none at all allowed except right after a "/"
    ("/dir/*", "/dir/a", True),
    ("/dir/*", "/dir/", False),
    ("/dir/*", "/dir/a/b", False),
    ("/dir/a*", "/dir/a", True),
    ("/dir/*.conf", "/dir/x.conf", True),
    ("/dir/*.conf", "/dir/sub/x.conf", False),
    # double star: "/" too, again not empty right after a "/"
    ("/dir/**", "/dir/a/b/c", True),
    ("/dir/**", "/dir/", False),
    ("/dir/**", "/dir", False),
    ("/usr/lib/**.so", "/usr/lib/x/y/libz.so", True),
    # question mark and classes never match "/"
    ("/dev/tty?", "/dev/tty1", True),
    ("/dev/tty?", "/dev/tty12", False),
    ("/dev/tty?", "/dev/tty/", False),
    ("/dev/video[0-9]*", "/dev/video63", True),
    ("/dev/video[0-9]*", "/dev/videox", False),
    ("/a/[^s.]*", "/a/x", True),
    ("/a/[^s.]*", "/a/.x", False),
    ("/a/[^s.]*", "/a/sx", False),
    ("/a[^s]b", "/a/b", False),
    ("/a[!x]b", "/ayb", True),
    # alternatives, nested and empty
    ("/etc/ssl/{,**}", "/etc/ssl/", True),
    ("/etc/ssl/{,**}", "/etc/ssl/certs/ca.pem", True),
    ("/etc/ssl/{,**}", "/etc/sslx", False),
    ("/{,var/}run/docker.sock", "/run/docker.sock", True),
    ("/{,var/}run/docker.sock", "/var/run/docker.sock", True),
    ("/{,var/}run/docker.sock", "/var/lib/docker.sock", False),
    ("/etc/{hosts,host.conf,{gai,nsswitch}.conf}", "/etc/nsswitch.conf", True),
    ("/etc/{hosts,host.conf,{gai,nsswitch}.conf}", "/etc/resolv.conf", False),
    ("/sys/devices/**/usb[0-9]*/**/{idVendor,idProduct}", "/sys/devices/pci0000:00/usb1/1-1/idVendor", True),
    # escapes
    ("/a\\*b", "/a*b", True),
    ("/a\\*b", "/axb", False),
    # variables of <tunables/global>
    ("@{HOME}/", "/root/", True),
    ("@{HOME}/", "/home/alice/", True),
    ("@{HOME}/", "/home/alice/x/", False),
    ("@{HOME}/Documents/**", "/home/bob/Documents/a/b", True),
    ("@{HOME}/[^s.]**", "/home/bob/Notes/a", True),
    ("@{HOME}/[^s.]**", "/home/bob/.bashrc", False),
    ("@{HOME}/[^s.]**", "/home/bob/snap/x", False),
    ("@{HOME}/s[^n]**", "/root/src/x", True),
    ("@{HOME}/s[^n]**", "/root/snap", False),
    ("@{PROC}/@{pid}/status", "/proc/4242/status", True),
    ("@{PROC}/@{pid}/status", "/proc/self/status", False),
    ("@{PROC}/@{pid}/status", "/proc/0/status", False),
    ("@{run}/user/@{uid}/bus", "/run/user/1000/bus", True),
    ("@{run}/user/@{uid}/bus", "/var/run/user/1000/bus", True),
    ("/usr/lib/@{multiarch}/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", True),
    ("@{etc_ro}/os-release", "/usr/etc/os-release", True),
    ("@{sys}/class/net/", "/sys/class/net/", True),
    # an unknown variable matches nothing (the rule cannot be placed)
    ("@{NOPE}/x", "/x", False),
]


@pytest.mark.parametrize("pattern,path,want", CASES)
def test_match(pattern, path, want):
    assert match(pattern, path) is want


def test_snap_variables_are_given_by_the_caller():
    v = {"SNAP": "/var/lib/confine/snaps/hello/x1", "SNAP_NAME": "hello"}
    assert match("@{SNAP}/bin/*", "/var/lib/confine/snaps/hello/x1/bin/hello", v)
    assert not match("@{SNAP}/bin/*", "/snap/hello/x1/bin/hello", v)
    assert match("/dev/shm/snap.@{SNAP_NAME}.**", "/dev/shm/snap.hello.x", v)
    assert not match("/dev/shm/snap.@{SNAP_NAME}.**", "/dev/shm/snap.other.x", v)
    # variables may hold variables and globs, and several values
    v2 = {"SNAP_USER_DATA": "@{HOME}/snap/hello/x1", "XDG": ("/a", "/b/*")}
    assert match("@{SNAP_USER_DATA}/**", "/home/u/snap/hello/x1/f", v2)
    assert match("@{XDG}/k", "/b/zz/k", v2) and match("@{XDG}/k", "/a/k", v2)


def test_double_slashes_from_values_ending_in_a_slash_collapse():
    # @{HOME} ends in "/" and rules write "@{HOME}/x": one slash in what is matched
    assert match("@{HOME}/x", "/root/x")
    assert not match("@{HOME}/x", "/root//x")


def test_unbalanced_patterns():
    with pytest.raises(GlobError):
        compile_glob("/a/{b,c")
    with pytest.raises(GlobError):
        compile_glob("/a/[bc")
    assert match("/a/{b,c", "/a/b") is False          # match() says no instead of raising


def test_literal_length_orders_rules_by_specificity():
    assert literal_length("/dev/video[0-9]*") > literal_length("/dev/**")
    assert literal_length("/etc/resolv.conf") > literal_length("/etc/*")
    assert literal_length("@{HOME}/Documents/**") > literal_length("@{HOME}/**")
