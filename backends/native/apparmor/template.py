"""This project's base AppArmor policy for an app under strict confinement.

What every confined app may do without any interface: run its own files, keep
data in its own writable directories, use the private /tmp the launcher gives it,
read the system's libraries and common tools, look at itself in /proc, and talk
(signals, Unix sockets) to the other apps and hooks of its own snap only.

Everything else comes from interface snippets. The text below is this project's
own; it follows what a strict app needs, not any other project's template.

Variables used here are defined by the generator (generate.py):
@{SNAP} (the snap's install directory), @{SNAP_NAME}, @{SNAP_INSTANCE_NAME},
@{SNAP_REVISION}, @{SNAP_COMMAND_NAME}; @{HOME}, @{PROC}, @{pid}, @{tid},
@{multiarch} come from <tunables/global>.
"""
from __future__ import annotations

# Abstractions that exist in Debian's apparmor 3.0.8 and grant nothing beyond
# what any program needs. <abstractions/nameservice> is left out on purpose: it
# also opens inet sockets, which only the network interfaces may grant.
ABSTRACTIONS = ("base", "consoles", "openssl")

# Programs a shell script of the app may run in its own confinement (ix).
COMMON_TOOLS = (
    "awk", "base32", "base64", "basename", "bash", "cat", "chmod", "cmp", "cp", "cut",
    "dash", "date", "dd", "diff", "dirname", "du", "echo", "env", "expr", "false",
    "find", "gawk", "getconf", "getent", "grep", "gzip", "head", "id", "install",
    "ln", "ls", "md5sum", "mkdir", "mktemp", "mv", "nice", "nproc", "od", "printenv",
    "printf", "readlink", "realpath", "rm", "rmdir", "sed", "seq", "sh", "sha1sum",
    "sha256sum", "sleep", "sort", "stat", "tac", "tail", "tar", "tee", "test",
    "timeout", "touch", "tr", "true", "uname", "uniq", "wc", "which", "xargs",
    "zcat",
)

BODY = """\
# --- base policy of a strictly confined app (confine's own template)
{includes}

# The snap's own files, where the engine installed this revision: read, map,
# and run its programs in this same profile.
@{{SNAP}}/ r,
@{{SNAP}}/** mrklix,

# SNAP_DATA and SNAP_COMMON: the snap's system-wide writable data.
/var/snap/@{{SNAP_INSTANCE_NAME}}/ r,
/var/snap/@{{SNAP_INSTANCE_NAME}}/@{{SNAP_REVISION}}/{{,**}} mrwklix,
/var/snap/@{{SNAP_INSTANCE_NAME}}/common/{{,**}} mrwklix,

# SNAP_USER_DATA and SNAP_USER_COMMON: the user's per-snap data, never the
# rest of the home folder (that needs the home interface).
owner @{{HOME}}/snap/ r,
owner @{{HOME}}/snap/@{{SNAP_INSTANCE_NAME}}/ r,
owner @{{HOME}}/snap/@{{SNAP_INSTANCE_NAME}}/@{{SNAP_REVISION}}/{{,**}} mrwklix,
owner @{{HOME}}/snap/@{{SNAP_INSTANCE_NAME}}/common/{{,**}} mrwklix,

# The launcher mounts a private /tmp for the snap.
/tmp/ r,
/tmp/** mrwlk,

# XDG_RUNTIME_DIR of the snap.
owner /run/user/[0-9]*/snap.@{{SNAP_INSTANCE_NAME}}/{{,**}} mrwk,

# System libraries, locale and configuration a program reads at start.
/etc/ld.so.{{cache,conf,preload}} r,
/etc/ld.so.conf.d/{{,*.conf}} r,
/{{,usr/}}lib{{,32,64,x32}}/{{,@{{multiarch}}/}}** mr,
/usr/share/** r,
/etc/{{passwd,group,nsswitch.conf,localtime,timezone,environment,mime.types}} r,
/etc/{{os-release,lsb-release,debian_version,machine-id,hostname}} r,
/usr/lib/os-release r,
/etc/ssl/certs/ r,
/etc/alternatives/ r,
/etc/alternatives/* r,

# Common tools for the app's scripts, run inside this profile.
/{{,usr/}}bin/ r,
/{{,usr/}}bin/{tools} ixr,

# Itself in /proc, and harmless facts about the system.
@{{PROC}}/ r,
@{{PROC}}/self r,
@{{PROC}}/thread-self r,
owner @{{PROC}}/@{{pid}}/ r,
owner @{{PROC}}/@{{pid}}/{{auxv,cmdline,comm,environ,exe,io,limits,loginuid,maps,mountinfo,sched,schedstat,sessionid,smaps,stat,statm,status,wchan}} r,
owner @{{PROC}}/@{{pid}}/fd/ r,
owner @{{PROC}}/@{{pid}}/fdinfo/{{,*}} r,
owner @{{PROC}}/@{{pid}}/task/ r,
owner @{{PROC}}/@{{pid}}/task/@{{tid}}/ r,
owner @{{PROC}}/@{{pid}}/task/@{{tid}}/{{comm,stat,status}} r,
owner @{{PROC}}/@{{pid}}/task/@{{tid}}/comm w,
owner @{{PROC}}/@{{pid}}/comm w,
@{{PROC}}/{{loadavg,uptime,version,meminfo,stat,cpuinfo,filesystems}} r,
@{{PROC}}/sys/kernel/{{hostname,osrelease,ostype,pid_max,version,ngroups_max,cap_last_cap}} r,
@{{PROC}}/sys/kernel/random/{{uuid,boot_id,entropy_avail}} r,
@{{PROC}}/sys/kernel/yama/ptrace_scope r,
@{{PROC}}/sys/vm/overcommit_memory r,
@{{PROC}}/sys/fs/{{file-max,nr_open,pipe-max-size}} r,
/sys/devices/system/cpu/ r,
/sys/devices/system/cpu/{{online,possible,present,kernel_max}} r,
/sys/devices/system/node/ r,
/sys/fs/cgroup/cpu.max r,
/sys/kernel/mm/transparent_hugepage/enabled r,

# Devices every program uses.
/dev/{{null,zero,full,random,urandom}} rw,
/dev/tty rw,
/dev/pts/ptmx rw,
/dev/ptmx rw,
owner /dev/shm/ r,
owner /dev/shm/snap.@{{SNAP_INSTANCE_NAME}}.** mrwlk,

# Signals, tracing and Unix sockets only among the apps and hooks of this snap;
# the admin's unconfined processes may still signal it.
signal (send, receive) peer=snap.@{{SNAP_INSTANCE_NAME}}.*,
signal (receive) peer=unconfined,
ptrace (read, trace) peer=snap.@{{SNAP_INSTANCE_NAME}}.*,
unix (create, bind, listen, accept, getattr, setattr, getopt, setopt, shutdown),
unix (send, receive, connect) peer=(label=snap.@{{SNAP_INSTANCE_NAME}}.*),

# Harmless noise: Python tries to write bytecode caches next to system
# modules; refusing silently keeps the audit log readable.
deny /usr/lib/python3*/**/__pycache__/ w,
deny /usr/lib/python3*/**/__pycache__/*.pyc w,
deny /usr/lib/python3*/**/__pycache__/*.pyc.* w,
"""


def strict_template() -> str:
    """The base policy, rule lines unindented (the generator indents them)."""
    includes = "\n".join(f"#include <abstractions/{a}>" for a in ABSTRACTIONS)
    return BODY.format(includes=includes, tools="{" + ",".join(COMMON_TOOLS) + "}")


CLASSIC_BODY = """\
# --- classic confinement
# A classic snap runs with the host's view of the system, as any program the
# admin installs does. confine marks its profile `unconfined` (AppArmor 3 and
# later: the profile labels the processes but restricts nothing), and also
# spells out allow-everything rules so that a kernel that ignores the flag
# does not confine it either. Interface snippets are still listed below for
# reference; they widen nothing here.
capability,
network,
mount,
remount,
umount,
pivot_root,
ptrace,
signal,
dbus,
unix,
file,
change_profile -> **,
"""


def classic_template() -> str:
    return CLASSIC_BODY
