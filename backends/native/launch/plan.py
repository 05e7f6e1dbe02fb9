"""The launch plan of one security tag: every step the launcher takes, in order,
with its parameters, as snap-confine would take them.

The plan is JSON data, generated with the other profiles and read by `confine
run` without importing the engine. It is deterministic (no time stamps, no
host facts) so that an unchanged plan is not rewritten.

Values may contain `$NAME` variables. The launcher expands them from, first, its
inputs (`inputs`: the user the app runs as, that user's home, the arguments) and
then the variables of the `environment` step, in their order (a value may name
an earlier one). The same variables appear in the Landlock rules.

Each step has `step` (its name), `why`, and may have:
  requires   doctor layers of which at least one must be available for the step
             to run; where none is, the launcher skips the step and says so
             (`confine run --explain`)
  skip       a reason the step does not apply to this app at all (classic
             confinement, devmode, an interface managing devices itself ...)
"""
from __future__ import annotations

import os
import platform
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..landlock.rules import mount_grants
from ..profiles.paths import artifact_paths, private_tmp_dir
from . import capabilities

if TYPE_CHECKING:  # pragma: no cover
    from ..profiles.context import TagContext

SCHEMA = 1

STEP_ORDER = (
    "verify-profiles",
    "mount-namespace",
    "private-tmp",
    "devpts",
    "read-only",
    "masked-paths",
    "data-directories",
    "environment",
    "device-cgroup",
    "hotplug",
    "apparmor",
    "landlock",
    "capabilities",
    "switch-user",
    "no-new-privs",
    "seccomp",
    "exec",
)

# Paths masked as runc masks them by default; dirs get an empty read-only tmpfs,
# files /dev/null bound over them. Missing ones are skipped (this kernel has no
# /proc/kcore, for one).
MASKED_PATHS: tuple[tuple[str, str], ...] = (
    ("/proc/acpi", "dir"),
    ("/proc/asound", "dir"),
    ("/proc/kcore", "file"),
    ("/proc/keys", "file"),
    ("/proc/latency_stats", "file"),
    ("/proc/timer_list", "file"),
    ("/proc/timer_stats", "file"),
    ("/proc/sched_debug", "file"),
    ("/proc/scsi", "dir"),
    ("/sys/firmware", "dir"),
    ("/sys/devices/virtual/powercap", "dir"),
)

# Devices every app may use, as snap-confine allows them: (node, type, major, minor).
COMMON_DEVICES: tuple[tuple[str, str, int, int | str], ...] = (
    ("/dev/null", "c", 1, 3),
    ("/dev/zero", "c", 1, 5),
    ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8),
    ("/dev/urandom", "c", 1, 9),
    ("/dev/tty", "c", 5, 0),
    ("/dev/ptmx", "c", 5, 2),
) + tuple(("/dev/pts/*", "c", major, "*") for major in range(136, 144))   # pty slaves (majors 136-143)

# Variables of the user's session passed through to the app; everything else of
# the caller's environment is dropped (LD_PRELOAD, PYTHONPATH ... never reach it).
KEEP_ENV = (
    "COLORTERM", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "LANG", "LANGUAGE", "LC_*", "NO_COLOR",
    "SHELL", "TERM", "TZ", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE",
)
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386", "i386": "i386",
           "ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64"}


class PlanError(ValueError):
    """The snap cannot be given a launch plan (a command outside its directory)."""


def snap_arch() -> str:
    m = platform.machine()
    return _ARCHES.get(m, m)


def _step(step_name: str, why: str, /, **params: Any) -> dict:
    step = {"step": step_name, "why": why}
    step.update(params)
    return step


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _under(path: str, top: str) -> bool:
    path = os.path.normpath(path)
    return path == top or path.startswith(top.rstrip("/") + "/")


def _command(ctx: "TagContext", snap_dir: str) -> tuple[str, list[str]]:
    """The program (absolute, inside the snap's directory) and the fixed arguments."""
    if ctx.hook is not None:
        rel, args = f"meta/hooks/{ctx.hook}", []
    else:
        words = shlex.split(ctx.command or "")
        if not words:
            raise PlanError(f"{ctx.tag}: the app has no command")
        rel, args = words[0], words[1:]
    rel = rel.replace("$SNAP/", "", 1) if rel.startswith("$SNAP/") else rel
    if rel.startswith("/"):
        raise PlanError(f"{ctx.tag}: command {rel!r} must be relative to the snap's directory")
    program = os.path.normpath(os.path.join(snap_dir, rel))
    if not program.startswith(snap_dir.rstrip("/") + "/"):
        raise PlanError(f"{ctx.tag}: command {rel!r} leads outside the snap's directory")
    return program, args


def generate(ctx: "TagContext", *, root: Path) -> dict[str, Any]:
    """The launch plan of `ctx` for a state root `root` (JSON-able)."""
    from ..profiles.context import snap_dirs
    from ..udev.rules import device_matches

    snap = ctx.snap
    name = snap.name
    revision = snap.revision or "x0"
    dirs = snap_dirs(snap)
    snap_dir = dirs["SNAP"]
    paths = {k: str(v) for k, v in artifact_paths(root, ctx.tag, name).items()}
    confinement = snap.confinement
    classic = confinement == "classic"
    devmode = confinement == "devmode"
    base_name, _, instance_key = name.partition("_")
    program, args = _command(ctx, snap_dir)
    matches = device_matches(ctx)

    def skip_classic(params: dict) -> dict:
        if classic:
            params["skip"] = "classic confinement: the app sees the host as it is"
        return params

    env = [
        ["SNAP", snap_dir],
        ["SNAP_NAME", base_name],
        ["SNAP_INSTANCE_NAME", name],
        ["SNAP_INSTANCE_KEY", instance_key],
        ["SNAP_REVISION", revision],
        ["SNAP_VERSION", snap.version],
        ["SNAP_ARCH", snap_arch()],
        ["SNAP_DATA", dirs["SNAP_DATA"]],
        ["SNAP_COMMON", dirs["SNAP_COMMON"]],
        ["SNAP_REAL_HOME", "$REAL_HOME"],
        ["SNAP_USER_DATA", f"$REAL_HOME/snap/{name}/{revision}"],
        ["SNAP_USER_COMMON", f"$REAL_HOME/snap/{name}/common"],
        ["SNAP_UID", "$UID"],
        ["SNAP_EUID", "$UID"],
        ["HOME", "$SNAP_USER_DATA"],
        ["USER", "$USER"],
        ["LOGNAME", "$USER"],
        ["XDG_RUNTIME_DIR", f"/run/user/$UID/snap.{name}"],
        ["TMPDIR", "/tmp"],
        ["PATH", f"$SNAP/usr/sbin:$SNAP/usr/bin:$SNAP/sbin:$SNAP/bin:{SYSTEM_PATH}"],
    ]

    tmp_dir = private_tmp_dir(root, name)
    # A snap installed under /tmp (a test root) would vanish with the host's /tmp:
    # its directory is bound back, read-only, at the same place in the private /tmp.
    keep_visible = [{"path": snap_dir, "read-only": True}] if _under(snap_dir, "/tmp") else []
    files = [
        {"path": paths["launch"], "for": "this plan"},
        {"path": paths["landlock"], "for": "landlock"},
        {"path": paths["apparmor-binary"], "for": "apparmor", "only-if": "apparmor-kernel"},
        {"path": paths["seccomp-deny"], "for": "seccomp"},
        {"path": paths["seccomp"], "for": "seccomp",
         "fresh": {"source": paths["seccomp-src"], "stamp": paths["seccomp"] + ".sha256"}},
    ]
    if classic:
        files = [f for f in files if f["for"] in ("this plan",)]

    steps = [
        _step("verify-profiles",
              "profiles are read only from root-owned files that nobody else may write, as snap-confine "
              "checks; a missing or stale one is an error, not a silent downgrade. Read them all here, "
              "before any restriction applies",
              files=files, owner=0, **{"not-writable-by": ["group", "other"],
                                       "parents": "owned by root and not writable by group or others, "
                                                  "unless sticky (as /tmp is)",
                                       "on-error": "run `confine doctor --repair` to regenerate the profiles"}),
        skip_classic(_step("mount-namespace", "the app's mounts are its own and do not leak to the host",
                           unshare=["mount"], propagation="private", recursive=True,
                           requires=["mount-namespace"])),
        skip_classic(_step("private-tmp", "the host's /tmp is invisible; the snap's apps share a /tmp of their own",
                           source=str(tmp_dir), target="/tmp", mode="1777", owner=0,
                           parent={"path": str(tmp_dir.parent), "mode": "0700", "owner": 0},
                           requires=["mount-namespace"], **{"keep-visible": keep_visible})),
        skip_classic(_step("devpts", "a devpts instance of the app's own: the host's terminals are unreachable",
                           target="/dev/pts", fstype="devpts", options="newinstance,ptmxmode=0666,mode=0620",
                           **{"gid-of-group": "tty"},
                           ptmx={"source": "/dev/pts/ptmx", "target": "/dev/ptmx", "bind": True},
                           requires=["mount-namespace"])),
        skip_classic(_step("read-only", "kernel settings in /proc/sys and /sys cannot be written",
                           paths=["/proc", "/sys"], recursive=True,
                           how="bind each onto itself, then make it read-only with its submounts "
                               "(mount_setattr AT_RECURSIVE, else remount each mount read-only)",
                           requires=["mount-namespace"])),
        skip_classic(_step("masked-paths", "kernel interfaces that leak host secrets or timing are hidden",
                           paths=[{"path": p, "kind": k, "with": "tmpfs-ro" if k == "dir" else "/dev/null",
                                   "if-missing": "skip"} for p, k in MASKED_PATHS],
                           requires=["mount-namespace"])),
        _step("data-directories", "the snap's data directories exist with the right owner and mode; an "
              "existing directory is left as it is",
              directories=[
                  {"path": str(Path(dirs["SNAP_DATA"]).parent), "owner": "root", "mode": "0755"},
                  {"path": "$SNAP_DATA", "owner": "root", "mode": "0755"},
                  {"path": "$SNAP_COMMON", "owner": "root", "mode": "0755"},
                  {"path": "$REAL_HOME/snap", "owner": "user", "mode": "0700"},
                  {"path": f"$REAL_HOME/snap/{name}", "owner": "user", "mode": "0755"},
                  {"path": "$SNAP_USER_DATA", "owner": "user", "mode": "0755"},
                  {"path": "$SNAP_USER_COMMON", "owner": "user", "mode": "0755"},
                  {"path": "$XDG_RUNTIME_DIR", "owner": "user", "mode": "0700", "if-parent-missing": "skip"},
              ]),
        _step("environment", "the variables snap apps expect; the caller's environment is dropped but for "
              "the session variables in `keep`",
              set=env, keep=list(KEEP_ENV)),
    ]

    cgroup = _step("device-cgroup", "the app reaches only the common devices and those its interfaces' "
                   "device matches select among the devices pyudev lists from /sys (no udev tags needed)",
                   name=ctx.tag, common=[{"node": n, "type": t, "major": ma, "minor": mi, "access": "rwm"}
                                         for n, t, ma, mi in COMMON_DEVICES],
                   matches=matches, access="rwm", **{"remove-on-exit": True, "needs-root": True},
                   requires=["cgroup-v1-devices", "cgroup-v2-device-bpf"],
                   prefer="cgroup-v1-devices where mounted, else a cgroup v2 BPF device program")
    hotplug = _step("hotplug", "devices that appear while the app runs and match its device matches are added "
                    "to its device cgroup, and removed when they go, as snap-device-helper does",
                    matches=matches, source="kernel uevents (netlink, a pyudev Monitor)",
                    actions={"add": "allow in the device cgroup", "remove": "revoke"})
    if classic:
        cgroup["skip"] = hotplug["skip"] = "classic confinement: devices are not restricted"
    elif ctx.controls_device_cgroup:
        cgroup["skip"] = hotplug["skip"] = ("a connected interface manages the device cgroup itself "
                                            "(controls-device-cgroup)")
    elif devmode:
        cgroup["skip"] = hotplug["skip"] = "devmode: devices are not restricted"
    elif not matches:
        hotplug["skip"] = "no device matches: nothing to watch"
    steps += [cgroup, hotplug]

    apparmor = _step("apparmor", "the AppArmor profile confines the app from its exec on",
                     label=ctx.tag, profile=paths["apparmor"], binary=paths["apparmor-binary"],
                     mode="complain" if devmode else "enforce",
                     how="aa_change_onexec: write 'exec <label>' to /proc/self/attr/apparmor/exec "
                         "(else /proc/self/attr/exec)",
                     requires=["apparmor-kernel"])
    if classic:
        apparmor["skip"] = "classic confinement: the app runs unconfined"
    landlock = _step("landlock", "the app's filesystem, TCP and scope rules",
                     rules=paths["landlock"], requires=["landlock"])
    if classic:
        landlock["skip"] = "classic confinement: no filesystem restriction"
    elif devmode:
        landlock["skip"] = "devmode: Landlock has no complain mode, so it is not applied"
    elif mounters := mount_grants(ctx):
        landlock["filesystem"] = (f"not restricted: Landlock forbids every mount to a process whose domain "
                                  f"restricts the filesystem, and {_and(mounters)} grant"
                                  f"{'s' if len(mounters) == 1 else ''} mounting; TCP and scope rules stay")
    keep = capabilities.granted(text for _, text in ctx.bodies("apparmor"))
    caps = _step("capabilities", "capabilities no interface grants leave the bounding, inheritable and ambient "
                 "sets, so the app cannot use them even as root: AppArmor refuses the same where the kernel has "
                 "it, and without AppArmor nothing else would",
                 keep=keep, source="the `capability` rules of the app's AppArmor snippets")
    if keep != capabilities.ALL:
        caps["numbers"] = [capabilities.NUMBER[n] for n in keep]    # for the compiled launcher
    if classic:
        caps["skip"] = "classic confinement: the app keeps the capabilities of its user"
    elif devmode:
        caps["skip"] = "devmode: capabilities are not restricted"
    steps += [apparmor, landlock, caps]

    steps += [
        _step("switch-user", "the app runs as the user given by `confine run --user` (root by default), "
              "with that user's groups; restrictions above stay in force",
              user="$USER", uid="$UID", gid="$GID", groups="supplementary groups of $USER"),
    ]
    nnp = _step("no-new-privs", "setuid programs and file capabilities cannot raise the app's privileges",
                prctl="PR_SET_NO_NEW_PRIVS")
    if classic:
        nnp["skip"] = "classic confinement: the app may run setuid programs (sudo)"
    steps.append(nnp)
    seccomp = _step("seccomp", "system calls: explicit denials (EACCES) first, then the allow list "
                    "(EPERM, audited through the log flag)",
                    deny={"path": paths["seccomp-deny"], "flags": []},
                    allow={"path": paths["seccomp"], "flags": ["log"]},
                    order=["deny", "allow"], requires=["seccomp"])
    if classic:
        seccomp["skip"] = "classic confinement: no system call filter"
    steps += [
        seccomp,
        _step("exec", "the app's command, from the snap's directory",
              program=program, argv0=program, args=args, **{"append-user-args": True},
              cwd={"prefer": "the caller's directory", "fallback": "$SNAP_USER_DATA"}),
    ]
    if [s["step"] for s in steps] != list(STEP_ORDER):  # pragma: no cover - a bug in this module
        raise RuntimeError("launch plan steps out of order")

    return {
        "schema": SCHEMA,
        "tag": ctx.tag,
        "snap": name,
        "app": ctx.app,
        "hook": ctx.hook,
        "revision": revision,
        "confinement": confinement,
        "inputs": {
            "UID": "uid of the user the app runs as",
            "GID": "primary gid of that user",
            "USER": "that user's name",
            "REAL_HOME": "that user's home directory",
        },
        "artifacts": paths,
        "steps": steps,
    }
