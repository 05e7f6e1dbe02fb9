"""Write corpus.json, the audit record corpus of tests/test_denials_parser.py.

Run: .venv/bin/python tests/data/denials/make_corpus.py

The records below are written from the documented record formats with realistic
values; the seccomp and Landlock ones marked "captured" were logged by this
project's test VM (kernel 6.18) and copied as data. Each base record carries its
expected decoding, written by hand, and the transports it is rendered in: the
same kernel text behind each transport's prefix, as that transport prints it
(see RENDER). Hand-written entries (multi-line, duplicates, unparsed and
skipped lines) follow in EXTRA. corpus.json is what the test reads; this script
only saves typing the same record eight times.

An entry of corpus.json:
    {"id", "form", "class", "input": text (lines split on "\\n" only) or
     "netlink": [[type, payload], ...], "expected": [subset of Denial.to_json() + cls, ...]}
"""
from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

E = "1795462400"          # 2026-11-23 19:33:20 UTC
HOST = "edge"


def hx(s: str) -> str:
    """The kernel's hex encoding of a string with spaces or non-ASCII bytes."""
    return s.encode().hex().upper()


# ---------------------------------------------------------------------------- base records
# (id, class, type, auditd type name, epoch, serial, body, expected, forms)

AA = 1400
BASES: list[tuple] = []


def aa(id_, cls, serial, body, exp, forms, t=AA, name="AVC"):
    BASES.append((id_, cls, t, name, f"{E}.{serial % 1000:03d}", serial, body, exp, forms))


# --- AppArmor file
aa("file-open", "file", 501,
   'apparmor="DENIED" operation="open" class="file" profile="snap.firefox.firefox" name="/etc/fstab" pid=2893 '
   'comm="firefox" requested_mask="r" denied_mask="r" fsuid=1000 ouid=0',
   dict(kind="apparmor", mode="DENIED", operation="open", profile="snap.firefox.firefox", snap="firefox",
        app="firefox", name="/etc/fstab", requested="r", denied="r", pid=2893, comm="firefox", cls="file"),
   ["kmsg", "dmesg", "syslog", "auditd", "journald-audit", "ausearch-i", "netlink"])
aa("file-open-noclass", "file", 502,
   'apparmor="DENIED" operation="open" profile="snap.vlc.vlc" name="/proc/2231/mounts" pid=2231 comm="vlc" '
   'requested_mask="r" denied_mask="r" fsuid=1000 ouid=1000',
   dict(kind="apparmor", mode="DENIED", operation="open", profile="snap.vlc.vlc", snap="vlc", app="vlc",
        name="/proc/2231/mounts", requested="r", denied="r", pid=2231, comm="vlc", cls="file"),
   ["kmsg-pri", "dmesg-T", "rfc3339", "auditd", "journald-kernel"])
aa("file-mkdir", "file", 503,
   'apparmor="DENIED" operation="mkdir" profile="snap.code.code" name="/home/alice/.config/Code/" pid=4107 '
   'comm="code" requested_mask="c" denied_mask="c" fsuid=1000 ouid=1000',
   dict(kind="apparmor", operation="mkdir", profile="snap.code.code", snap="code", app="code",
        name="/home/alice/.config/Code/", requested="c", denied="c", pid=4107, cls="file"),
   ["syslog", "auditd", "dmesg"])
aa("file-exec-nnp", "file", 504,
   'apparmor="DENIED" operation="exec" info="no new privs" error=-1 profile="snap.lxd.daemon" '
   'name="/usr/bin/nvidia-smi" pid=1762 comm="lxd" requested_mask="x" denied_mask="x" fsuid=0 ouid=0 '
   'target="snap.lxd.daemon//null-/usr/bin/nvidia-smi"',
   dict(kind="apparmor", operation="exec", profile="snap.lxd.daemon", snap="lxd", app="daemon",
        name="/usr/bin/nvidia-smi", requested="x", denied="x", pid=1762, comm="lxd", cls="file"),
   ["kmsg", "auditd", "rfc3339"])
aa("file-hexname", "file", 505,
   f'apparmor="DENIED" operation="open" profile="snap.vlc.vlc" name={hx("/home/alice/My Videos/été.mkv")} '
   f'pid=5012 comm={hx("vlc:disk$0")} requested_mask="r" denied_mask="r" fsuid=1000 ouid=1000',
   dict(kind="apparmor", operation="open", profile="snap.vlc.vlc", name="/home/alice/My Videos/été.mkv",
        comm="vlc:disk$0", pid=5012, cls="file"),
   ["kmsg", "syslog", "auditd", "netlink"])
aa("file-hook", "file", 506,
   'apparmor="DENIED" operation="open" profile="snap.nextcloud.hook.configure" name="/proc/1/environ" '
   'pid=3310 comm="snapctl" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
   dict(kind="apparmor", profile="snap.nextcloud.hook.configure", snap="nextcloud", app="hook.configure",
        name="/proc/1/environ", pid=3310, comm="snapctl", cls="file"),
   ["dmesg", "auditd", "journald-audit"])
aa("file-mmap", "file", 507,
   'apparmor="DENIED" operation="file_mmap" profile="snap.chromium.chromium" '
   'name="/dev/shm/.org.chromium.Chromium.Ab3dEf" pid=6120 comm="chrome" requested_mask="m" denied_mask="m" '
   'fsuid=1000 ouid=1000',
   dict(kind="apparmor", operation="file_mmap", profile="snap.chromium.chromium", snap="chromium",
        app="chromium", name="/dev/shm/.org.chromium.Chromium.Ab3dEf", requested="m", denied="m", cls="file"),
   ["syslog", "auditd", "kmsg"])
aa("file-link", "file", 508,
   'apparmor="DENIED" operation="link" info="link not subset" error=-13 profile="snap.gimp.gimp" '
   'name="/home/alice/pictures/b.png" pid=7001 comm="gimp" requested_mask="l" denied_mask="l" fsuid=1000 '
   'ouid=1000 target="/home/alice/pictures/a.png"',
   dict(kind="apparmor", operation="link", name="/home/alice/pictures/b.png", requested="l", denied="l",
        snap="gimp", app="gimp", cls="file"),
   ["auditd", "dmesg-T"])
aa("file-allowed", "file", 509,
   'apparmor="ALLOWED" operation="open" class="file" profile="snap.htop.htop" name="/proc/sys/kernel/osrelease" '
   'pid=812 comm="htop" requested_mask="r" denied_mask="r" fsuid=1000 ouid=0',
   dict(kind="apparmor", mode="ALLOWED", operation="open", profile="snap.htop.htop", snap="htop", app="htop",
        name="/proc/sys/kernel/osrelease", requested="r", denied="r", pid=812, cls="file"),
   ["kmsg", "auditd", "journald-kernel"])
aa("file-audit", "file", 510,
   'apparmor="AUDIT" operation="getattr" profile="snap.foo.bar" name="/etc/hosts" pid=999 comm="bar" '
   'requested_mask="r" fsuid=0 ouid=0',
   dict(kind="apparmor", mode="AUDIT", operation="getattr", profile="snap.foo.bar", snap="foo", app="bar",
        name="/etc/hosts", requested="r", denied=None, cls="file"),
   ["auditd", "syslog"])
aa("file-child-profile", "file", 511,
   'apparmor="DENIED" operation="open" profile="snap.foo.bar//null-/usr/bin/baz" name="/etc/machine-id" '
   'pid=1290 comm="baz" requested_mask="r" denied_mask="r" fsuid=1000 ouid=0',
   dict(kind="apparmor", profile="snap.foo.bar//null-/usr/bin/baz", snap="foo", app="bar",
        name="/etc/machine-id", cls="file"),
   ["kmsg", "auditd"])
aa("file-instance", "file", 512,
   'apparmor="DENIED" operation="truncate" profile="snap.foo_work.bar" name="/var/log/syslog" pid=1291 '
   'comm="bar" requested_mask="w" denied_mask="w" fsuid=1000 ouid=0',
   dict(kind="apparmor", operation="truncate", profile="snap.foo_work.bar", snap="foo_work", app="bar",
        name="/var/log/syslog", requested="w", denied="w", cls="file"),
   ["dmesg", "auditd"])
aa("file-nonsnap", "file", 513,
   'apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="/etc/krb5.keytab" pid=1042 '
   'comm="cupsd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
   dict(kind="apparmor", profile="/usr/sbin/cupsd", snap=None, app=None, name="/etc/krb5.keytab", cls="file"),
   ["syslog", "auditd", "journald-audit"])
aa("file-sysctl", "file", 514,
   'apparmor="DENIED" operation="sysctl" class="file" profile="snap.lxd.daemon" '
   'name="/proc/sys/net/core/somaxconn" pid=1762 comm="lxd" requested_mask="w" denied_mask="w" fsuid=0 ouid=0',
   dict(kind="apparmor", operation="sysctl", name="/proc/sys/net/core/somaxconn", requested="w", denied="w",
        snap="lxd", app="daemon", cls="file"),
   ["kmsg", "rfc3339"])
aa("file-unlink-enriched", "file", 515,
   'apparmor="DENIED" operation="unlink" profile="snap.foo.bar" name="/tmp/.X0-lock" pid=1500 comm="bar" '
   'requested_mask="d" denied_mask="d" fsuid=1000 ouid=0',
   dict(kind="apparmor", operation="unlink", name="/tmp/.X0-lock", requested="d", denied="d", snap="foo",
        app="bar", cls="file"),
   ["auditd-enriched"])
aa("file-old-1503", "file", 516,
   'operation="open" pid=981 parent=1 profile="/usr/sbin/ntpd" requested_mask="rw::" denied_mask="rw::" '
   'fsuid=0 ouid=0 name="/etc/ntp.conf"',
   dict(kind="apparmor", mode="DENIED", operation="open", profile="/usr/sbin/ntpd", name="/etc/ntp.conf",
        requested="rw::", denied="rw::", pid=981, cls="file"),
   ["syslog", "auditd"], t=1503, name="APPARMOR_DENIED")
aa("file-chmod-owner", "file", 517,
   'apparmor="DENIED" operation="chmod" profile="snap.foo.bar" name="/home/alice/snap/foo/common/x" pid=1501 '
   'comm="bar" requested_mask="w" denied_mask="w" fsuid=1000 ouid=1000',
   dict(kind="apparmor", operation="chmod", name="/home/alice/snap/foo/common/x", cls="file"),
   ["dmesg", "auditd"])
aa("file-rename", "file", 518,
   'apparmor="DENIED" operation="rename_src" profile="snap.foo.bar" name="/home/alice/Downloads/a.part" '
   'pid=1502 comm="bar" requested_mask="wrd" denied_mask="wd" fsuid=1000 ouid=1000',
   dict(kind="apparmor", operation="rename_src", name="/home/alice/Downloads/a.part", requested="wrd",
        denied="wd", cls="file"),
   ["syslog", "auditd"])

# --- capability
aa("cap-sys-admin", "capability", 520,
   'apparmor="DENIED" operation="capable" class="cap" profile="snap.docker.dockerd" pid=1523 comm="dockerd" '
   'capability=21  capname="sys_admin"',
   dict(kind="apparmor", mode="DENIED", operation="capable", profile="snap.docker.dockerd", snap="docker",
        app="dockerd", capability="sys_admin", name="sys_admin", pid=1523, comm="dockerd", cls="capability"),
   ["kmsg", "dmesg", "syslog", "auditd", "journald-audit", "ausearch-i", "netlink"])
aa("cap-noclass", "capability", 521,
   'apparmor="DENIED" operation="capable" profile="snap.wireshark.wireshark" pid=3301 comm="dumpcap" '
   'capability=13  capname="net_raw"',
   dict(kind="apparmor", operation="capable", capability="net_raw", name="net_raw", snap="wireshark",
        app="wireshark", cls="capability"),
   ["auditd", "kmsg-pri", "rfc3339"])
aa("cap-number-only", "capability", 522,
   'apparmor="DENIED" operation="capable" profile="snap.foo.bar" pid=1400 comm="bar" capability=12',
   dict(kind="apparmor", operation="capable", capability="net_admin", name=None, cls="capability"),
   ["syslog", "auditd"])
aa("cap-allowed", "capability", 523,
   'apparmor="ALLOWED" operation="capable" profile="snap.multipass.multipassd" pid=901 comm="multipassd" '
   'capability=0  capname="chown"',
   dict(kind="apparmor", mode="ALLOWED", capability="chown", snap="multipass", app="multipassd",
        cls="capability"),
   ["dmesg-T", "auditd"])
aa("cap-hook", "capability", 524,
   'apparmor="DENIED" operation="capable" profile="snap.core.hook.configure" pid=2201 comm="systemctl" '
   'capability=19  capname="sys_ptrace"',
   dict(kind="apparmor", capability="sys_ptrace", snap="core", app="hook.configure", cls="capability"),
   ["kmsg", "journald-kernel"])

# --- network
aa("net-netlink", "network", 530,
   'apparmor="DENIED" operation="create" profile="snap.foo.bar" pid=1234 comm="bar" family="netlink" '
   'sock_type="raw" protocol=15 requested_mask="create" denied_mask="create"',
   dict(kind="apparmor", operation="create", family="netlink", requested="create", denied="create",
        snap="foo", app="bar", pid=1234, cls="network"),
   ["kmsg", "dmesg", "syslog", "auditd", "ausearch-i", "netlink"])
aa("net-packet", "network", 531,
   'apparmor="DENIED" operation="create" class="net" profile="snap.wireshark.wireshark" pid=3301 '
   'comm="dumpcap" family="packet" sock_type="raw" protocol=768 requested_mask="create" denied_mask="create"',
   dict(kind="apparmor", family="packet", requested="create", denied="create", snap="wireshark", cls="network"),
   ["kmsg", "auditd", "rfc3339"])
aa("net-inet6-bind", "network", 532,
   'apparmor="DENIED" operation="bind" profile="snap.foo.server" pid=1700 comm="server" family="inet6" '
   'sock_type="dgram" protocol=17 requested_mask="bind" denied_mask="bind"',
   dict(kind="apparmor", operation="bind", family="inet6", requested="bind", denied="bind", snap="foo",
        app="server", cls="network"),
   ["dmesg", "auditd", "journald-audit"])
aa("net-bluetooth", "network", 533,
   'apparmor="DENIED" operation="create" profile="snap.bluez-app.app" pid=1800 comm="app" family="bluetooth" '
   'sock_type="seqpacket" protocol=0 requested_mask="create" denied_mask="create"',
   dict(kind="apparmor", family="bluetooth", snap="bluez-app", app="app", cls="network"),
   ["syslog", "auditd"])
aa("net-inet-connect-fine", "network", 534,
   'apparmor="DENIED" operation="connect" class="net" profile="snap.spotify.spotify" pid=4410 comm="spotify" '
   'family="inet" sock_type="stream" protocol=6 requested="connect" denied="connect" faddr=151.101.2.49 '
   'fport=443',
   dict(kind="apparmor", operation="connect", family="inet", requested="connect", denied="connect",
        snap="spotify", app="spotify", cls="network"),
   ["kmsg", "auditd"])

# --- unix
aa("unix-x11", "unix", 540,
   'apparmor="DENIED" operation="connect" class="unix" profile="snap.foo.bar" pid=1234 comm="bar" '
   'family="unix" sock_type="stream" protocol=0 requested_mask="send receive connect" '
   'denied_mask="send connect" addr=none peer_addr="@/tmp/.X11-unix/X0" peer="unconfined"',
   dict(kind="apparmor", operation="connect", family="unix", requested="send receive connect",
        denied="send connect", snap="foo", app="bar", cls="unix"),
   ["kmsg", "dmesg", "syslog", "auditd", "netlink"])
aa("unix-net-sendmsg", "unix", 541,
   'apparmor="DENIED" operation="sendmsg" profile="snap.foo.bar" pid=1235 comm="bar" family="unix" '
   'sock_type="dgram" protocol=0 requested_mask="send" denied_mask="send" addr=none '
   'peer_addr="/run/systemd/journal/socket" peer="unconfined"',
   dict(kind="apparmor", operation="sendmsg", family="unix", requested="send", denied="send", cls="unix"),
   ["auditd", "rfc3339", "journald-audit"])
aa("unix-path-file", "file", 542,
   'apparmor="DENIED" operation="connect" profile="snap.foo.bar" name="/run/dbus/system_bus_socket" '
   'pid=1236 comm="bar" requested_mask="wr" denied_mask="wr" fsuid=1000 ouid=0',
   dict(kind="apparmor", operation="connect", name="/run/dbus/system_bus_socket", requested="wr", denied="wr",
        cls="file"),
   ["syslog", "auditd"])

# --- signal
aa("signal-send", "signal", 550,
   'apparmor="DENIED" operation="signal" profile="snap.foo.bar" pid=1234 comm="bar" requested_mask="send" '
   'denied_mask="send" signal=term peer="snap.foo.worker"',
   dict(kind="apparmor", operation="signal", requested="send", denied="send", snap="foo", app="bar",
        cls="signal"),
   ["kmsg", "dmesg", "auditd", "journald-audit", "ausearch-i"])
aa("signal-receive", "signal", 551,
   'apparmor="DENIED" operation="signal" class="signal" profile="snap.foo.worker" pid=1240 comm="worker" '
   'requested_mask="receive" denied_mask="receive" signal=kill peer="unconfined"',
   dict(kind="apparmor", operation="signal", requested="receive", denied="receive", snap="foo", app="worker",
        cls="signal"),
   ["syslog", "auditd", "kmsg-pri"])

# --- ptrace
aa("ptrace-read", "ptrace", 560,
   'apparmor="DENIED" operation="ptrace" profile="snap.htop.htop" pid=812 comm="htop" requested_mask="read" '
   'denied_mask="read" peer="unconfined"',
   dict(kind="apparmor", operation="ptrace", requested="read", denied="read", snap="htop", app="htop",
        cls="ptrace"),
   ["kmsg", "syslog", "auditd", "ausearch-i", "netlink"])
aa("ptrace-trace", "ptrace", 561,
   'apparmor="DENIED" operation="ptrace" class="ptrace" profile="snap.gdb-tool.gdb" pid=3000 comm="gdb" '
   'requested_mask="trace" denied_mask="trace" peer="snap.foo.bar"',
   dict(kind="apparmor", operation="ptrace", requested="trace", denied="trace", snap="gdb-tool", app="gdb",
        cls="ptrace"),
   ["dmesg-T", "auditd"])

# --- mount
aa("mount-ext4", "mount", 570,
   'apparmor="DENIED" operation="mount" info="failed mntpnt match" error=-13 profile="snap.lxd.lxc" '
   'name="/mnt/data/" pid=1234 comm="mount" fstype="ext4" srcname="/dev/sdb1" flags="rw, nosuid"',
   dict(kind="apparmor", operation="mount", name="/mnt/data/", snap="lxd", app="lxc", cls="mount"),
   ["kmsg", "dmesg", "syslog", "auditd", "netlink"])
aa("mount-umount", "mount", 571,
   'apparmor="DENIED" operation="umount" class="mount" info="failed mntpnt match" error=-13 '
   'profile="snap.foo.bar" name="/run/user/1000/doc/" pid=1300 comm="fusermount3"',
   dict(kind="apparmor", operation="umount", name="/run/user/1000/doc/", cls="mount"),
   ["auditd", "rfc3339"])
aa("mount-pivotroot", "mount", 572,
   'apparmor="DENIED" operation="pivotroot" profile="snap-update-ns.foo" name="/tmp/newroot/" pid=1234 '
   'comm="snap-update-ns" srcname="/tmp/oldroot/"',
   dict(kind="apparmor", operation="pivotroot", profile="snap-update-ns.foo", snap="foo", app=None,
        name="/tmp/newroot/", cls="mount"),
   ["syslog", "auditd"])
aa("mount-remount", "mount", 573,
   'apparmor="DENIED" operation="remount" info="failed flags match" error=-13 profile="snap.foo.bar" '
   'name="/" pid=1301 comm="mount" flags="ro, remount"',
   dict(kind="apparmor", operation="remount", name="/", cls="mount"),
   ["kmsg", "auditd"])

# --- userns
aa("userns-unconfined", "userns", 580,
   'apparmor="DENIED" operation="userns_create" class="namespace" info="Userns create restricted - failed to '
   'find unprivileged_userns profile" error=-13 profile="unconfined" pid=3000 comm="electron" '
   'requested="userns_create" denied="userns_create" target="unprivileged_userns"',
   dict(kind="apparmor", mode="DENIED", operation="userns_create", profile="unconfined", snap=None,
        requested="userns_create", denied="userns_create", comm="electron", cls="userns"),
   ["kmsg", "dmesg", "syslog", "auditd", "journald-audit", "netlink"])
aa("userns-snap", "userns", 581,
   'apparmor="DENIED" operation="userns_create" class="namespace" profile="snap.chromium.chromium" pid=6120 '
   'comm="chrome" requested="userns_create" denied="userns_create"',
   dict(kind="apparmor", operation="userns_create", snap="chromium", app="chromium", requested="userns_create",
        denied="userns_create", cls="userns"),
   ["kmsg", "auditd", "ausearch-i"])
aa("userns-audit", "userns", 582,
   'apparmor="AUDIT" operation="userns_create" class="namespace" info="Userns create - transitioning profile" '
   'profile="unconfined" pid=3100 comm="app" requested="userns_create" target="unprivileged_userns" '
   'execpath="/opt/app/app"',
   dict(kind="apparmor", mode="AUDIT", operation="userns_create", requested="userns_create", denied=None,
        cls="userns"),
   ["rfc3339", "auditd"])

# --- status
aa("status-load", "status", 590,
   'apparmor="STATUS" operation="profile_load" profile="unconfined" name="snap.firefox.firefox" pid=1502 '
   'comm="apparmor_parser"',
   dict(kind="apparmor", mode="STATUS", operation="profile_load", profile="unconfined",
        name="snap.firefox.firefox", snap="firefox", app="firefox", cls="status"),
   ["kmsg", "dmesg", "syslog", "auditd", "journald-audit"])
aa("status-replace", "status", 591,
   'apparmor="STATUS" operation="profile_replace" info="same as current profile, skipping" '
   'profile="unconfined" name="snap.foo.hook.install" pid=1503 comm="apparmor_parser"',
   dict(kind="apparmor", mode="STATUS", operation="profile_replace", name="snap.foo.hook.install", snap="foo",
        app="hook.install", cls="status"),
   ["auditd", "kmsg-pri"])
aa("status-remove", "status", 592,
   'apparmor="STATUS" operation="profile_remove" profile="unconfined" name="snap.old.app" pid=1504 '
   'comm="apparmor_parser"',
   dict(kind="apparmor", mode="STATUS", operation="profile_remove", name="snap.old.app", cls="status"),
   ["syslog"])

# --- D-Bus (dbus-daemon's USER_AVC; "\n" is the embedded newline before exe=)
DBUS_TAIL = '\n exe="/usr/bin/dbus-daemon" sauid=103 hostname=? addr=? terminal=?\''


def dbus(id_, serial, inner, exp, forms):
    body = (f"pid=845 uid=103 auid=4294967295 ses=4294967295 subj=unconfined msg='{inner}" + DBUS_TAIL)
    BASES.append((id_, "dbus", 1107, "USER_AVC", f"{E}.{serial % 1000:03d}", serial, body, exp, forms))


dbus("dbus-method", 600,
     'apparmor="DENIED" operation="dbus_method_call"  bus="system" path="/org/freedesktop/NetworkManager" '
     'interface="org.freedesktop.DBus.Properties" member="GetAll" mask="send" '
     'name="org.freedesktop.NetworkManager" pid=2345 label="snap.foo.bar" peer_pid=900 peer_label="unconfined"',
     dict(kind="dbus", mode="DENIED", operation="dbus_method_call", profile="snap.foo.bar", snap="foo",
          app="bar", name="org.freedesktop.NetworkManager", requested="send", denied="send", pid=2345, exe=None,
          cls="dbus"),
     ["auditd", "kmsg", "syslog", "dmesg", "journald-audit", "netlink", "rfc3339"])
dbus("dbus-signal", 601,
     'apparmor="DENIED" operation="dbus_signal"  bus="session" path="/org/gtk/Settings" '
     'interface="org.freedesktop.DBus.Properties" member="PropertiesChanged" name=":1.23" mask="receive" '
     'pid=3011 label="snap.gimp.gimp" peer_pid=1902 peer_label="unconfined"',
     dict(kind="dbus", operation="dbus_signal", profile="snap.gimp.gimp", snap="gimp", app="gimp", name=":1.23",
          requested="receive", denied="receive", pid=3011, cls="dbus"),
     ["auditd", "kmsg", "journald-audit"])
dbus("dbus-bind", 602,
     'apparmor="DENIED" operation="dbus_bind"  bus="session" name="org.mpris.MediaPlayer2.vlc" mask="bind" '
     'pid=5012 label="snap.vlc.vlc"',
     dict(kind="dbus", operation="dbus_bind", name="org.mpris.MediaPlayer2.vlc", requested="bind", denied="bind",
          snap="vlc", app="vlc", pid=5012, cls="dbus"),
     ["auditd", "dmesg", "syslog"])
dbus("dbus-allowed", 603,
     'apparmor="ALLOWED" operation="dbus_method_call"  bus="session" path="/org/freedesktop/Notifications" '
     'interface="org.freedesktop.Notifications" member="Notify" mask="send" name="org.freedesktop.Notifications" '
     'pid=4107 label="snap.code.code" peer_pid=2100 peer_label="unconfined"',
     dict(kind="dbus", mode="ALLOWED", operation="dbus_method_call", requested="send", denied="send", snap="code",
          app="code", cls="dbus"),
     ["auditd", "kmsg"])
dbus("dbus-eavesdrop", 604,
     'apparmor="DENIED" operation="dbus_eavesdrop"  bus="session" mask="eavesdrop" pid=5555 '
     'label="snap.spy.spy"',
     dict(kind="dbus", operation="dbus_eavesdrop", requested="eavesdrop", denied="eavesdrop", snap="spy",
          app="spy", cls="dbus"),
     ["auditd", "netlink"])

# --- seccomp (x86_64 ones "captured" on the test VM, the others written from the format)
SC = 1326


def sc(id_, serial, body, exp, forms, epoch=None):
    BASES.append((id_, "seccomp", SC, "SECCOMP", epoch or f"{E}.{serial % 1000:03d}", serial, body, exp, forms))


sc("sc-errno-captured", 1279,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1808 comm="trig" exe=2F746D702F646E2F64C3A92F74726967 '
   'sig=0 arch=c000003e syscall=272 compat=0 ip=0x7f3a7931f829 code=0x50000',
   dict(kind="seccomp", mode="DENIED", syscall="unshare", syscall_nr=272, arch="x86_64", action="errno",
        pid=1808, comm="trig", exe="/tmp/dn/dé/trig", cls="syscall"),
   ["kmsg", "netlink", "auditd", "dmesg", "ausearch-i", "journald-audit"], epoch="1795462337.896")
sc("sc-log-hex-captured", 1280,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1809 comm=7472696720746F6F6C '
   'exe=2F746D702F646E2F7472696720746F6F6C sig=0 arch=c000003e syscall=39 compat=0 ip=0x7f786f444829 '
   'code=0x7ffc0000',
   dict(kind="seccomp", mode="ALLOWED", syscall="getpid", syscall_nr=39, arch="x86_64", action="log",
        comm="trig tool", exe="/tmp/dn/trig tool"),
   ["kmsg", "netlink", "syslog"], epoch="1795462338.696")
sc("sc-trap-captured", 1281,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1810 comm="trig" exe="/tmp/dn/trig" sig=0 arch=c000003e '
   'syscall=110 compat=0 ip=0x7feb7d900829 code=0x30000',
   dict(kind="seccomp", syscall="getppid", action="trap", arch="x86_64", mode="DENIED"),
   ["kmsg", "netlink"], epoch="1795462339.500")
sc("sc-kill-thread-captured", 1283,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1811 comm="trig" exe="/tmp/dn/trig" sig=31 arch=c000003e '
   'syscall=102 compat=0 ip=0x7f6168ba2829 code=0x0',
   dict(kind="seccomp", syscall="getuid", action="kill_thread", mode="DENIED"),
   ["kmsg", "netlink", "auditd"], epoch="1795462340.304")
sc("sc-kill-process-captured", 1285,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1812 comm="trig" exe="/tmp/dn/trig" sig=31 arch=c000003e '
   'syscall=104 compat=0 ip=0x7f1f3f5a7829 code=0x80000000',
   dict(kind="seccomp", syscall="getgid", action="kill_process"),
   ["kmsg", "netlink", "dmesg-T"], epoch="1795462341.104")
sc("sc-trace-captured", 1287,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1813 comm="trig" exe="/tmp/dn/trig" sig=0 arch=c000003e '
   'syscall=107 compat=0 ip=0x7ff4e3fab829 code=0x7ff00000',
   dict(kind="seccomp", syscall="geteuid", action="trace"),
   ["netlink", "kmsg-pri"], epoch="1795462341.908")
sc("sc-user-notif-captured", 1288,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1814 comm="trig" exe="/tmp/dn/trig" sig=0 arch=c000003e '
   'syscall=108 compat=0 ip=0x7fd44eef9829 code=0x7fc00000',
   dict(kind="seccomp", syscall="getegid", action="user_notif"),
   ["netlink", "rfc3339"], epoch="1795462342.712")
sc("sc-i386-log-captured", 1290,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1816 comm="trig" exe="/tmp/dn/trig" sig=0 arch=40000003 '
   'syscall=20 compat=1 ip=0x56477551059c code=0x7ffc0000',
   dict(kind="seccomp", syscall="getpid", syscall_nr=20, arch="i386", action="log", mode="ALLOWED"),
   ["kmsg", "netlink", "auditd"], epoch="1795462344.316")
sc("sc-i386-errno-captured", 1291,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1817 comm="trig" exe="/tmp/dn/trig" sig=0 arch=40000003 '
   'syscall=26 compat=1 ip=0x55e84f2835cb code=0x50000',
   dict(kind="seccomp", syscall="ptrace", syscall_nr=26, arch="i386", action="errno"),
   ["netlink", "syslog"], epoch="1795462345.120")
sc("sc-x32-log-captured", 1292,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1825 comm="trig" exe="/tmp/dn/trig" sig=0 arch=c000003e '
   'syscall=1073741863 compat=0 ip=0x7f723b4af829 code=0x7ffc0000',
   dict(kind="seccomp", syscall="getpid", syscall_nr=1073741863, arch="x32", action="log"),
   ["netlink", "kmsg"], epoch="1795462345.920")
sc("sc-x32-errno-captured", 1293,
   'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1826 comm="trig" exe="/tmp/dn/trig" sig=0 arch=c000003e '
   'syscall=1073741989 compat=0 ip=0x7f730ebea829 code=0x50000',
   dict(kind="seccomp", syscall="mount", syscall_nr=1073741989, arch="x32", action="errno"),
   ["netlink", "dmesg"], epoch="1795462346.728")
sc("sc-x32-ioctl", 620,
   'auid=1000 uid=1000 gid=1000 ses=3 subj=snap.foo.bar pid=4000 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=c000003e syscall=1073742338 compat=0 ip=0x7f0000001000 code=0x50000',
   dict(kind="seccomp", syscall="ioctl", syscall_nr=1073742338, arch="x32", snap="foo", app="bar"),
   ["auditd", "kmsg"])
sc("sc-snap-subj", 621,
   'auid=1000 uid=1000 gid=1000 ses=3 subj=snap.foo.bar pid=4001 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=c000003e syscall=101 compat=0 ip=0x7f12a4e6c9bd code=0x50000',
   dict(kind="seccomp", mode="DENIED", operation="syscall", profile="snap.foo.bar", snap="foo", app="bar",
        syscall="ptrace", syscall_nr=101, arch="x86_64", action="errno", pid=4001, comm="bar",
        exe="/snap/foo/12/bin/bar", cls="syscall"),
   ["kmsg", "dmesg", "dmesg-T", "syslog", "rfc3339", "auditd", "journald-kernel", "journald-audit",
    "ausearch-i", "netlink", "kmsg-pri"])
sc("sc-subj-mode", 622,
   'auid=1000 uid=1000 gid=1000 ses=3 subj=snap.discord.discord (enforce) pid=4100 comm="Discord" '
   'exe="/snap/discord/200/usr/share/discord/Discord" sig=0 arch=c000003e syscall=298 compat=0 '
   'ip=0x7f55aa01c9bd code=0x50000',
   dict(kind="seccomp", profile="snap.discord.discord", snap="discord", app="discord", syscall="perf_event_open",
        syscall_nr=298),
   ["kmsg", "auditd", "syslog"])
sc("sc-hook-kill", 623,
   'auid=0 uid=0 gid=0 ses=4294967295 subj=snap.foo.hook.install pid=4200 comm="install" '
   'exe="/snap/foo/12/meta/hooks/install" sig=31 arch=c000003e syscall=175 compat=0 ip=0x7f0100002000 '
   'code=0x80000000',
   dict(kind="seccomp", snap="foo", app="hook.install", syscall="init_module", action="kill_process"),
   ["kmsg", "auditd"])
sc("sc-aarch64", 624,
   'auid=1000 uid=1000 gid=1000 ses=2 subj=snap.foo.bar pid=2100 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=c00000b7 syscall=117 compat=0 ip=0xffff8a9b1c20 code=0x50000',
   dict(kind="seccomp", syscall="ptrace", syscall_nr=117, arch="aarch64", action="errno", snap="foo"),
   ["kmsg", "auditd", "ausearch-i", "netlink"])
sc("sc-aarch64-unshare", 625,
   'auid=1000 uid=1000 gid=1000 ses=2 subj=snap.foo.bar pid=2101 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=c00000b7 syscall=97 compat=0 ip=0xffff8a9b1c24 code=0x50000',
   dict(kind="seccomp", syscall="unshare", syscall_nr=97, arch="aarch64"),
   ["dmesg", "syslog"])
sc("sc-arm", 626,
   'auid=1000 uid=1000 gid=1000 ses=2 subj=snap.foo.bar pid=2200 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=40000028 syscall=26 compat=0 ip=0xb6e2c5f0 code=0x50000',
   dict(kind="seccomp", syscall="ptrace", syscall_nr=26, arch="arm", action="errno"),
   ["kmsg", "auditd"])
sc("sc-arm-compat", 627,
   'auid=1000 uid=1000 gid=1000 ses=2 subj=snap.foo.bar pid=2201 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=40000028 syscall=212 compat=1 ip=0xf7a1c5f0 code=0x50000',
   dict(kind="seccomp", syscall="chown32", syscall_nr=212, arch="arm"),
   ["syslog", "netlink"])
sc("sc-ppc64le", 628,
   'auid=1000 uid=1000 gid=1000 ses=2 pid=2300 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 arch=c0000015 '
   'syscall=26 compat=0 ip=0x7fff9e2a1b2c code=0x50000',
   dict(kind="seccomp", syscall="ptrace", arch="ppc64le", profile=None, snap=None),
   ["kmsg"])
sc("sc-s390x", 629,
   'auid=1000 uid=1000 gid=1000 ses=2 pid=2400 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 arch=80000016 '
   'syscall=26 compat=0 ip=0x3ff9e2a1b2c code=0x50000',
   dict(kind="seccomp", syscall="ptrace", arch="s390x"),
   ["auditd"])
sc("sc-riscv64", 630,
   'auid=1000 uid=1000 gid=1000 ses=2 pid=2500 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 arch=c00000f3 '
   'syscall=117 compat=0 ip=0x3fa1b2c3d4 code=0x50000',
   dict(kind="seccomp", syscall="ptrace", arch="riscv64"),
   ["dmesg"])
sc("sc-mips", 631,
   'auid=1000 uid=1000 gid=1000 ses=2 pid=2600 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 arch=8 '
   'syscall=4026 compat=0 ip=0x77a1b2c3 code=0x50000',
   dict(kind="seccomp", syscall="ptrace", syscall_nr=4026, arch="mips"),
   ["kmsg"])
sc("sc-unknown-arch", 632,
   'auid=1000 uid=1000 gid=1000 ses=2 pid=2700 comm="bar" exe="/bin/bar" sig=0 arch=deadbeef syscall=12 '
   'compat=0 ip=0x1000 code=0x50000',
   dict(kind="seccomp", syscall=None, syscall_nr=12, arch="0xdeadbeef", action="errno"),
   ["kmsg", "auditd"])
sc("sc-newer-syscall", 633,
   'auid=1000 uid=1000 gid=1000 ses=2 subj=snap.foo.bar pid=2800 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=c000003e syscall=462 compat=0 ip=0x7f0000003000 code=0x50000',
   dict(kind="seccomp", syscall="mseal", syscall_nr=462, arch="x86_64"),
   ["kmsg", "netlink"])
sc("sc-enriched", 634,
   'auid=1000 uid=1000 gid=1000 ses=3 subj=snap.foo.bar pid=4001 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
   'arch=c000003e syscall=165 compat=0 ip=0x7f12a4e6c9bd code=0x50000',
   dict(kind="seccomp", syscall="mount", syscall_nr=165, arch="x86_64", snap="foo", app="bar"),
   ["auditd-enriched"])

# --- Landlock (captured on the test VM; single records: no pid, that comes with the event)
LL = 1423


def ll(id_, serial, body, exp, forms, epoch):
    BASES.append((id_, "landlock", LL, "UNKNOWN[1423]", epoch, serial, body, exp, forms))


ll("ll-write", 1335, 'domain=1841ddd44 blockers=fs.make_reg path="/tmp/dn" dev="vda" ino=2197279',
   dict(kind="landlock", mode="DENIED", operation="fs.make_reg", denied="fs.make_reg", name="/tmp/dn", cls="fs"),
   ["kmsg", "netlink", "auditd", "dmesg"], "1795462372.884")
ll("ll-read", 1337, 'domain=1841ddd53 blockers=fs.read_file path="/tmp/dn/trig.c" dev="vda" ino=2197788',
   dict(kind="landlock", operation="fs.read_file", name="/tmp/dn/trig.c"),
   ["kmsg", "syslog", "auditd-new"], "1795462373.848")
ll("ll-readdir", 1339, 'domain=1841ddd5f blockers=fs.read_dir path="/tmp" dev="vda" ino=260072',
   dict(kind="landlock", operation="fs.read_dir", name="/tmp"), ["netlink", "rfc3339"], "1795462374.792")
ll("ll-hexpath", 1349, 'domain=1841ddd9a blockers=fs.make_reg path=2F746D702F646E2F64C3A9 dev="vda" ino=2195460',
   dict(kind="landlock", operation="fs.make_reg", name="/tmp/dn/dé"), ["kmsg", "auditd", "netlink"],
   "1795462379.468")
ll("ll-exec", 1351, 'domain=1841ddd9c blockers=fs.execute,fs.read_file path="/tmp/dn/trig" dev="vda" ino=2195490',
   dict(kind="landlock", operation="fs.execute,fs.read_file", denied="fs.execute,fs.read_file",
        name="/tmp/dn/trig"), ["kmsg", "journald-audit"], "1795462380.368")
ll("ll-connect", 1361, "domain=1841dddb9 blockers=net.connect_tcp daddr=127.0.0.1 dest=80",
   dict(kind="landlock", operation="net.connect_tcp", name="127.0.0.1:80", family="inet", cls="net"),
   ["kmsg", "netlink", "auditd"], "1795462384.924")
ll("ll-connect6", 1363, "domain=1841dddc0 blockers=net.connect_tcp daddr=::1 dest=443",
   dict(kind="landlock", name="[::1]:443", family="inet6", cls="net"), ["netlink", "dmesg"], "1795462385.824")
ll("ll-bind", 1365, "domain=1841dddc4 blockers=net.bind_tcp src=8080",
   dict(kind="landlock", operation="net.bind_tcp", name=":8080", cls="net"), ["kmsg", "auditd"], "1795462386.756")
ll("ll-signal", 1367, 'domain=1841dddcc blockers=scope.signal opid=1 ocomm="process_api"',
   dict(kind="landlock", operation="scope.signal", name=None, cls="scope"), ["netlink", "syslog"],
   "1795462387.708")
ll("ll-abstract", 1369, "domain=1841dddda blockers=scope.abstract_unix_socket path=002F746D702F2E5831312D756E69782F5830",
   dict(kind="landlock", operation="scope.abstract_unix_socket", name="@/tmp/.X11-unix/X0", family="unix",
        cls="scope"), ["kmsg", "netlink", "auditd"], "1795462388.660")
ll("ll-truncate", 1355, 'domain=1841ddda1 blockers=fs.truncate path="/tmp/dn/victim2" dev="vda" ino=2195554',
   dict(kind="landlock", operation="fs.truncate", name="/tmp/dn/victim2"), ["kmsg-pri", "dmesg-T"],
   "1795462382.128")

# ---------------------------------------------------------------------------- rendering

KMSG_SEQ = [570]


def stamp(epoch: str, serial: int) -> str:
    return f"audit({epoch}:{serial})"


def interpret(body: str, cls: str) -> str:
    """The body as ausearch -i prints it: quotes dropped, hex decoded, numbers named."""
    out = []
    names = {"0": "root", "1000": "alice", "103": "messagebus", "4294967295": "unset"}
    arches = {"c000003e": "x86_64", "40000003": "i386", "c00000b7": "aarch64", "40000028": "arm"}
    codes = {"0x50000": "errno", "0x7ffc0000": "log", "0x0": "kill", "0x30000": "trap", "0x7ff00000": "trace"}
    for k, v in re.findall(r'(\w+)=("[^"]*"|\S*)', body):
        if v.startswith('"'):
            v = v[1:-1]
        elif k in ("name", "comm", "exe", "path") and re.fullmatch(r"(?:[0-9A-F]{2})+", v):
            v = bytes.fromhex(v).decode()
        elif k in ("auid", "uid", "gid", "fsuid", "ouid") and v in names:
            v = names[v]
        elif k == "arch":
            v = arches.get(v, v)
        elif k == "code":
            v = codes.get(v, v)
        elif k == "sig" and v == "31":
            v = "SIGSYS"
        out.append(f"{k}={v}")
    return " ".join(out)


def render(form: str, t: int, tname: str, epoch: str, serial: int, body: str, cls: str, exp: dict) -> dict:
    st = stamp(epoch, serial)
    kernel = f"audit: type={t} {st}: {body}"
    one_line = body
    if "\n" in body:        # the D-Bus record's embedded newline, as each transport shows it
        one_line = body.replace("\n", "\\x0a")
    if form == "netlink":
        return {"netlink": [[t, f"{st}: {body}"]]}
    if form == "kmsg":
        KMSG_SEQ[0] += 1
        usec = 4462507433 + KMSG_SEQ[0] * 1000
        return {"input": f"5,{KMSG_SEQ[0]},{usec},-;audit: type={t} {st}: {one_line}"}
    if form == "kmsg-pri":
        return {"input": f"<5>audit: type={t} {st}: {one_line}"}
    if form == "dmesg":
        return {"input": f"[ 4462.507433] {kernel}"}
    if form == "dmesg-T":
        return {"input": f"[Mon Nov 23 19:33:20 2026] {kernel}"}
    if form == "syslog":
        return {"input": f"Nov 23 19:33:20 {HOST} kernel: [ 4462.507433] audit: type={t} {st}: "
                         f"{body.replace(chr(10), '#012')}"}
    if form == "rfc3339":
        return {"input": f"2026-11-23T19:33:20.507433+00:00 {HOST} kernel: {kernel}"}
    if form == "journald-kernel":
        return {"input": f"Nov 23 19:33:20 {HOST} kernel: {kernel}"}
    if form == "journald-audit":
        pid = {"1107": 845}.get(str(t), 1)
        text = body.replace("\n", "\n" + " " * 38)  # journalctl indents a message's next lines
        return {"input": f"Nov 23 19:33:20 {HOST} audit[{pid}]: {tname} {text}"}
    if form in ("auditd", "auditd-new"):
        name = "LANDLOCK_ACCESS" if form == "auditd-new" else tname
        return {"input": f"type={name} msg={st}: {body}"}
    if form == "auditd-enriched":
        enriched = 'AUID="alice" UID="alice" GID="alice"'
        if t == 1326:
            enriched += " ARCH=x86_64 SYSCALL=" + ("mount" if "syscall=165" in body else "ptrace")
        else:
            enriched = 'FSUID="alice" OUID="root"'
        return {"input": f"node={HOST} type={tname} msg={st}: {body}\x1d{enriched}"}
    if form == "ausearch-i":
        text = interpret(body, cls)
        if exp.get("syscall"):      # ausearch -i names the syscall
            text = re.sub(r"\bsyscall=\d+", f"syscall={exp['syscall']}", text)
        return {"input": f"type={tname} msg=audit(11/23/2026 19:33:20.{epoch[-3:]}:{serial}) : {text}"}
    raise ValueError(form)


def expected_for(form: str, exp: dict, epoch: str, serial: int) -> dict:
    e = dict(exp)
    if form == "journald-audit":
        e.update(epoch=None, serial=None)
    elif form == "ausearch-i":
        e["serial"] = serial          # epoch is local time there: not checked
    else:
        e.update(epoch=float(epoch), serial=serial)
    return e


# ---------------------------------------------------------------------------- hand-written entries

DBUS_FIRST = ('type=USER_AVC msg=audit(1795462400.700:700): pid=845 uid=103 auid=4294967295 ses=4294967295 '
              'subj=unconfined msg=\'apparmor="DENIED" operation="dbus_method_call"  bus="system" '
              'path="/org/freedesktop/login1" interface="org.freedesktop.login1.Manager" member="Inhibit" '
              'mask="send" name="org.freedesktop.login1" pid=2345 label="snap.foo.bar" peer_pid=700 '
              'peer_label="unconfined"')
DBUS_EXP = dict(kind="dbus", operation="dbus_method_call", name="org.freedesktop.login1", snap="foo", app="bar",
                pid=2345, denied="send", serial=700)

LL_EVENT = [
    "audit: type=1423 audit(1795462383.976:1359): domain=1841dddaa blockers=fs.remove_file,fs.refer path=\"/tmp/dn\" dev=\"vda\" ino=2197279",
    "audit: type=1424 audit(1795462383.976:1359): domain=1841dddaa status=allocated mode=enforcing pid=2176 uid=0 exe=\"/root/.pyenv/versions/3.11.7/bin/python3.11\" comm=\"python\"",
    "audit: type=1423 audit(1795462383.976:1359): domain=1841dddaa blockers=fs.make_reg,fs.refer path=\"/tmp/dn/sub\" dev=\"vda\" ino=2195602",
    "audit: type=1300 audit(1795462383.976:1359): arch=c000003e syscall=82 success=no exit=-13 a0=7fe917b24dd0 a1=7fe917b34cd0 a2=0 a3=7fe917e35528 items=0 ppid=2074 pid=2176 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"python\" exe=\"/root/.pyenv/versions/3.11.7/bin/python3.11\" key=(null)",
    "audit: type=1327 audit(1795462383.976:1359): proctitle=2F776F726B2F6D61696E2F2E76656E762F62696E2F707974686F6E002D63",
    "audit: type=1320 audit(1795462383.976:1359): ",
    "audit: type=1424 audit(1795462384.048:1360): domain=1841dddaa status=deallocated denials=2",
]
LL_EVENT_APPARMOR_SUBJ = [
    'type=UNKNOWN[1423] msg=audit(1795462390.100:1400): domain=1a2b3c4d5 blockers=fs.write_file path="/home/alice/.bashrc" dev="sda2" ino=1311',
    'type=UNKNOWN[1424] msg=audit(1795462390.100:1400): domain=1a2b3c4d5 status=allocated mode=enforcing pid=5100 uid=1000 exe="/usr/lib/confine/confine-run" comm="confine-run"',
    'type=SYSCALL msg=audit(1795462390.100:1400): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=55d0c0a1b2c0 a2=241 a3=1b6 items=0 ppid=5000 pid=5101 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="notes" exe="/snap/notes/3/bin/notes" subj=snap.notes.notes (enforce) key=(null)',
    'type=PROCTITLE msg=audit(1795462390.100:1400): proctitle="notes"',
    'type=EOE msg=audit(1795462390.100:1400): ',
]

EXTRA = [
    # --- multi-line and escaped D-Bus records
    dict(id="dbus-split-auditd", form="auditd", cls="dbus",
         input=DBUS_FIRST + "\n" + ' exe="/usr/bin/dbus-daemon" sauid=103 hostname=? addr=? terminal=?\'',
         expected=[dict(DBUS_EXP, line=1)]),
    dict(id="dbus-split-journalctl", form="journald-audit", cls="dbus",
         input="Nov 23 19:33:20 edge audit[845]: USER_AVC pid=845 uid=103 auid=4294967295 ses=4294967295 "
               "subj=unconfined msg='apparmor=\"DENIED\" operation=\"dbus_method_call\"  bus=\"session\" "
               "path=\"/org/freedesktop/portal/desktop\" interface=\"org.freedesktop.portal.Settings\" "
               "member=\"Read\" mask=\"send\" name=\":1.15\" pid=3011 label=\"snap.gimp.gimp\" peer_pid=1800 "
               "peer_label=\"unconfined\"\n"
               "                                     exe=\"/usr/bin/dbus-daemon\" sauid=103 hostname=? addr=? "
               "terminal=?'",
         expected=[dict(kind="dbus", name=":1.15", snap="gimp", app="gimp", pid=3011, epoch=None, line=1)]),
    dict(id="dbus-split-then-record", form="dmesg", cls="dbus",
         input="[ 100.000001] audit: type=1107 audit(1795462400.701:701): pid=845 uid=103 auid=4294967295 "
               "ses=4294967295 subj=unconfined msg='apparmor=\"DENIED\" operation=\"dbus_bind\"  bus=\"session\" "
               "name=\"org.example.Tool\" mask=\"bind\" pid=5012 label=\"snap.tool.tool\"\n"
               " exe=\"/usr/bin/dbus-daemon\" sauid=103 hostname=? addr=? terminal=?'\n"
               "[ 100.000002] audit: type=1400 audit(1795462400.702:702): apparmor=\"DENIED\" operation=\"open\" "
               "profile=\"snap.tool.tool\" name=\"/etc/shadow\" pid=5012 comm=\"tool\" requested_mask=\"r\" "
               "denied_mask=\"r\" fsuid=1000 ouid=0",
         expected=[dict(kind="dbus", name="org.example.Tool", line=1, serial=701),
                   dict(kind="apparmor", name="/etc/shadow", line=3, serial=702)]),
    dict(id="dbus-first-half-alone", form="auditd", cls="dbus",
         input=DBUS_FIRST,
         expected=[dict(DBUS_EXP)]),
    dict(id="dbus-daemon-syslog", form="syslog", cls="dbus",
         input='Nov 23 19:33:20 edge dbus-daemon[845]: [system] apparmor="DENIED" operation="dbus_method_call"  '
               'bus="system" path="/org/freedesktop/UPower" interface="org.freedesktop.UPower" '
               'member="EnumerateDevices" mask="send" name="org.freedesktop.UPower" pid=4410 '
               'label="snap.spotify.spotify" peer_pid=1100 peer_label="unconfined"',
         expected=[dict(kind="dbus", operation="dbus_method_call", name="org.freedesktop.UPower",
                        snap="spotify", app="spotify", pid=4410, requested="send", denied="send", epoch=None,
                        serial=None)]),
    dict(id="dbus-selinux-user-avc", form="auditd", cls="skipped",
         input="type=USER_AVC msg=audit(1731946583.709:17143): pid=962 uid=81 auid=4294967295 ses=4294967295 "
               "subj=system_u:system_r:system_dbusd_t:s0 msg='avc:  denied  { send_msg } for  "
               "scontext=system_u:system_r:script_t:s0 tcontext=system_u:system_r:systemd_locale_t:s0 "
               "tclass=dbus permissive=1 exe=\"/usr/bin/dbus-broker\" sauid=81 hostname=? addr=? terminal=?'",
         expected=[]),
    # --- duplicates: journald's kernel and audit transports, netlink and kmsg readers
    dict(id="dup-journald-transports", form="journald-kernel", cls="file",
         input='Nov 23 19:33:21 edge kernel: audit: type=1400 audit(1795462401.001:801): apparmor="DENIED" '
               'operation="open" profile="snap.foo.bar" name="/etc/passwd" pid=1234 comm="bar" requested_mask="r" '
               'denied_mask="r" fsuid=1000 ouid=0\n'
               'Nov 23 19:33:21 edge audit[1234]: AVC apparmor="DENIED" operation="open" profile="snap.foo.bar" '
               'name="/etc/passwd" pid=1234 comm="bar" requested_mask="r" denied_mask="r" fsuid=1000 ouid=0',
         expected=[dict(kind="apparmor", name="/etc/passwd", serial=801, line=1)]),
    dict(id="dup-journald-audit-first", form="journald-audit", cls="seccomp",
         input='Nov 23 19:33:21 edge audit[4001]: SECCOMP auid=1000 uid=1000 gid=1000 ses=3 subj=snap.foo.bar '
               'pid=4001 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 arch=c000003e syscall=101 compat=0 '
               'ip=0x7f12a4e6c9bd code=0x50000\n'
               'Nov 23 19:33:21 edge kernel: audit: type=1326 audit(1795462401.002:802): auid=1000 uid=1000 '
               'gid=1000 ses=3 subj=snap.foo.bar pid=4001 comm="bar" exe="/snap/foo/12/bin/bar" sig=0 '
               'arch=c000003e syscall=101 compat=0 ip=0x7f12a4e6c9bd code=0x50000',
         expected=[dict(kind="seccomp", syscall="ptrace", line=1, serial=None)]),
    dict(id="dup-same-stamp", form="kmsg", cls="seccomp",
         input='5,700,4470000000,-;audit: type=1326 audit(1795462401.003:803): auid=1000 uid=1000 gid=1000 ses=3 '
               'pid=4002 comm="bar" exe="/bin/bar" sig=0 arch=c000003e syscall=101 compat=0 ip=0x1 code=0x50000\n'
               'type=SECCOMP msg=audit(1795462401.003:803): auid=1000 uid=1000 gid=1000 ses=3 pid=4002 comm="bar" '
               'exe="/bin/bar" sig=0 arch=c000003e syscall=101 compat=0 ip=0x1 code=0x50000',
         expected=[dict(kind="seccomp", serial=803, line=1)]),
    dict(id="dup-repeated-denial-kept", form="journald-kernel", cls="file",
         input='Nov 23 19:33:22 edge kernel: audit: type=1400 audit(1795462402.001:804): apparmor="DENIED" '
               'operation="open" profile="snap.foo.bar" name="/etc/passwd" pid=1234 comm="bar" requested_mask="r" '
               'denied_mask="r" fsuid=1000 ouid=0\n'
               'Nov 23 19:33:22 edge kernel: audit: type=1400 audit(1795462402.002:805): apparmor="DENIED" '
               'operation="open" profile="snap.foo.bar" name="/etc/passwd" pid=1234 comm="bar" requested_mask="r" '
               'denied_mask="r" fsuid=1000 ouid=0',
         expected=[dict(serial=804, line=1), dict(serial=805, line=2)]),
    # --- Landlock events: the access records completed from the event's other records
    dict(id="ll-event-rename", form="kmsg", cls="landlock",
         input="\n".join("5,%d,4508590%03d,-;%s" % (654 + i, i, r) for i, r in enumerate(LL_EVENT)),
         expected=[dict(kind="landlock", operation="fs.remove_file,fs.refer", name="/tmp/dn", pid=2176,
                        comm="python", syscall="rename", syscall_nr=82, arch="x86_64", line=1),
                   dict(kind="landlock", operation="fs.make_reg,fs.refer", name="/tmp/dn/sub", pid=2176,
                        syscall="rename", line=3),
                   dict(kind="landlock", mode="STATUS", operation="domain_deallocated", line=7)]),
    dict(id="ll-event-snap", form="auditd", cls="landlock",
         input="\n".join(LL_EVENT_APPARMOR_SUBJ),
         expected=[dict(kind="landlock", operation="fs.write_file", name="/home/alice/.bashrc", pid=5101,
                        comm="notes", exe="/snap/notes/3/bin/notes", syscall="openat", snap="notes", app="notes",
                        profile="snap.notes.notes", serial=1400)]),
    dict(id="ll-event-netlink", form="netlink", cls="landlock",
         netlink=[[1423, 'audit(1795462372.884:1335): domain=1841ddd44 blockers=fs.make_reg path="/tmp/dn" dev="vda" ino=2197279'],
                  [1424, 'audit(1795462372.884:1335): domain=1841ddd44 status=allocated mode=enforcing pid=2077 uid=0 exe="/root/.pyenv/versions/3.11.7/bin/python3.11" comm="python"'],
                  [1300, 'audit(1795462372.884:1335): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7f9b398d8dd0 a2=80241 a3=1b6 items=0 ppid=2074 pid=2077 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="python" exe="/root/.pyenv/versions/3.11.7/bin/python3.11" key=(null)'],
                  [1327, 'audit(1795462372.884:1335): proctitle=2F776F726B'],
                  [1320, 'audit(1795462372.884:1335): ']],
         expected=[dict(kind="landlock", name="/tmp/dn", pid=2077, comm="python", syscall="openat")]),
    dict(id="ll-domain-dealloc", form="auditd-new", cls="landlock",
         input="type=LANDLOCK_DOMAIN msg=audit(1795462384.048:1360): domain=1841dddaa status=deallocated denials=2",
         expected=[dict(kind="landlock", mode="STATUS", operation="domain_deallocated", serial=1360)]),
    # --- unparsed: looks like a record, cannot be read
    dict(id="bad-truncated", form="kmsg", cls="unparsed",
         input='6,900,4470000000,-;audit: type=1400 audit(1795462403.001:901): apparmor="DENIED" operation="open" '
               'profile="snap.foo.bar" name="/home/alice/some/very/long/pa',
         expected=[dict(kind="unparsed", reason="unterminated quoted value of name=", serial=901)]),
    dict(id="bad-stamp", form="syslog", cls="unparsed",
         input='Nov 23 19:33:23 edge kernel: audit: type=1400 audit(17954624x:12): apparmor="DENIED" '
               'operation="open" profile="snap.foo.bar" name="/x"',
         expected=[dict(kind="unparsed", reason="malformed audit(epoch:serial) stamp")]),
    dict(id="bad-no-stamp", form="auditd", cls="unparsed",
         input='type=SECCOMP msg=: auid=1000 pid=1 comm="x" arch=c000003e syscall=1 code=0x50000',
         expected=[dict(kind="unparsed", reason="without an audit(epoch:serial) stamp")]),
    dict(id="bad-seccomp-no-syscall", form="auditd", cls="unparsed",
         input='type=SECCOMP msg=audit(1795462403.002:902): auid=1000 uid=1000 gid=1000 ses=3 pid=4002 '
               'comm="bar" exe="/bin/bar" sig=0 arch=c000003e compat=0 ip=0x1 code=0x50000',
         expected=[dict(kind="unparsed", reason="no syscall=", serial=902)]),
    dict(id="bad-seccomp-syscall", form="kmsg", cls="unparsed",
         input='5,901,4470000001,-;audit: type=1326 audit(1795462403.003:903): pid=4002 comm="bar" arch=c000003e '
               'syscall=1#2 code=0x50000',
         expected=[dict(kind="unparsed", reason="neither a number nor a name")]),
    dict(id="bad-seccomp-code", form="kmsg", cls="unparsed",
         input='5,902,4470000002,-;audit: type=1326 audit(1795462403.004:904): pid=4002 comm="bar" arch=c000003e '
               'syscall=12 code=zzz',
         expected=[dict(kind="unparsed", reason="is not an action")]),
    dict(id="bad-seccomp-no-arch", form="netlink", cls="unparsed",
         netlink=[[1326, "audit(1795462403.005:905): pid=4002 comm=\"bar\" syscall=12 code=0x50000"]],
         expected=[dict(kind="unparsed", reason="no arch=")]),
    dict(id="bad-landlock", form="auditd", cls="unparsed",
         input='type=UNKNOWN[1423] msg=audit(1795462403.006:906): domain=1a2b path="/x"',
         expected=[dict(kind="unparsed", reason="without blockers=")]),
    dict(id="bad-landlock-domain", form="auditd", cls="unparsed",
         input='type=UNKNOWN[1424] msg=audit(1795462403.007:907): domain=1a2b mode=enforcing',
         expected=[dict(kind="unparsed", reason="without domain= and status=")]),
    dict(id="bad-apparmor-field", form="kmsg", cls="unparsed",
         input='5,903,4470000003,-;audit: type=1400 audit(1795462403.008:908): operation="open" '
               'profile="snap.foo.bar" name="/x" pid=1',
         expected=[dict(kind="unparsed", reason="without an apparmor= field")]),
    dict(id="bad-dbus-truncated", form="kmsg", cls="unparsed",
         input="5,904,4470000004,-;audit: type=1107 audit(1795462403.009:909): pid=845 uid=103 msg='apparmor=\"DENIED\" "
               "operation=\"dbus_method_call\" bus=\"system\" path=\"/org/freedesktop/Netw",
         expected=[dict(kind="unparsed", reason="unterminated quoted value of path=")]),
    # --- lines that are no confinement record: skipped
    dict(id="skip-systemd", form="syslog", cls="skipped",
         input="Nov 23 19:33:24 edge systemd[1]: Started Session 3 of User alice.", expected=[]),
    dict(id="skip-cmdline", form="dmesg", cls="skipped",
         input="[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro apparmor=1 security=apparmor",
         expected=[]),
    dict(id="skip-selinux-avc", form="auditd", cls="skipped",
         input='type=AVC msg=audit(1567941717.044:14204): avc:  denied  { search } for  pid=5704 comm="bitlbee" '
               'name="dbus" dev="tmpfs" ino=13798 scontext=system_u:system_r:bitlbee_t '
               'tcontext=system_u:object_r:system_dbusd_var_run_t tclass=dir permissive=0',
         expected=[]),
    dict(id="skip-syscall-proctitle", form="auditd", cls="skipped",
         input='type=SYSCALL msg=audit(1795462404.001:950): arch=c000003e syscall=2 success=no exit=-13 a0=1 a1=0 '
               'a2=0 a3=0 items=1 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
               'tty=(none) ses=1 comm="cat" exe="/usr/bin/cat" key=(null)\n'
               'type=PROCTITLE msg=audit(1795462404.001:950): proctitle=636174002F6574632F736861646F77\n'
               'type=EOE msg=audit(1795462404.001:950): ',
         expected=[]),
    dict(id="skip-anom-abend", form="kmsg", cls="skipped",
         input='5,573,4464112310,-;audit: type=1701 audit(1795462339.500:1282): auid=4294967295 uid=0 gid=0 '
               'ses=4294967295 pid=1810 comm="trig" exe="/tmp/dn/trig" sig=31 res=1',
         expected=[]),
    dict(id="skip-printk-suppressed", form="kmsg", cls="skipped",
         input="4,569,4462507429,-;kauditd_printk_skb: 9 callbacks suppressed", expected=[]),
    dict(id="skip-ausearch-separators", form="ausearch-i", cls="skipped",
         input="----\ntime->Mon Nov 23 19:33:20 2026\n\n", expected=[]),
    dict(id="skip-login", form="auditd", cls="skipped",
         input="type=USER_LOGIN msg=audit(1795462404.002:951): pid=900 uid=0 auid=1000 ses=3 "
               "msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=10.0.0.2 addr=10.0.0.2 terminal=ssh "
               "res=success'",
         expected=[]),
]

# ---------------------------------------------------------------------------- main


def main() -> None:
    entries = []
    for id_, cls, t, tname, epoch, serial, body, exp, forms in BASES:
        for form in forms:
            e = {"id": f"{id_}@{form}", "form": form, "class": cls}
            e.update(render(form, t, tname, epoch, serial, body, cls, exp))
            e["expected"] = [expected_for(form, exp, epoch, serial)]
            entries.append(e)
    for e in EXTRA:
        e = dict(e)
        e["class"] = e.pop("cls")
        entries.append({k: e[k] for k in ("id", "form", "class", "input", "netlink", "expected") if k in e})
    (HERE / "corpus.json").write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n")
    records = sum(len(e["expected"]) for e in entries)
    print(f"{len(entries)} entries, {records} expected records")


if __name__ == "__main__":
    main()
