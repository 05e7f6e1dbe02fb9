"""The steps of a confined launch, one small unit each, in the words of the plan.

Every unit is built from its step of the launch plan and first *decides*: does
it apply on this kernel, for this invoker, and if not why not (`applies`,
`reason`, `details`), without changing anything, which is all `confine run
--explain` needs. Then, on a real run, it acts where it belongs:

    supervisor  the `confine run` process: verify-profiles (before the fork),
                device-cgroup and hotplug (around the fork)
    child       the process that becomes the app: every other step, in plan order

`prepare_child()` runs in the child before the first step (a unit that must open
something before the mounts hide or freeze it does it there); `child()` runs at
the unit's place in the plan. A failing step raises; the runner reports it by
the step's name. Nothing here imports more than the standard library and ctypes,
except the device cgroup and hotplug modules, and only when they apply.
"""
from __future__ import annotations

import os
import stat

from . import capabilities, mounts
from .env import environment, expand
from .users import as_user, switch
from .verify import FIX, ProfileError, check_fresh, read_trusted, source_has_denials
from ..landlock import apply as landlock
from ..seccomp import load as seccomp_load

APPLIES, SKIPPED, ERROR = "applies", "skipped", "error"
TAG_VARIABLE = "SNAP_SECURITY_TAG"      # set in the app's environment to its security tag


class StepError(Exception):
    """A step that cannot be taken (the runner prefixes the step's name)."""


class Unit:
    name = ""
    where = "child"            # "child", "supervisor" or "none" (pure data, used by another step)

    def __init__(self, launch, spec: dict):
        self.launch = launch
        self.spec = spec
        self.status = APPLIES
        self.reason = ""
        self.details: list[str] = []

    @property
    def applies(self) -> bool:
        return self.status == APPLIES

    def skip(self, reason: str) -> None:
        self.status, self.reason = SKIPPED, reason

    def decide(self) -> None:
        """Set status, reason and details for this machine; change nothing."""

    def prepare_child(self) -> None:
        """In the child, before the first step."""

    def child(self) -> None:
        """In the child, at this step's place."""

    def to_json(self) -> dict:
        return {"step": self.name, "status": self.status, "reason": self.reason, "details": list(self.details),
                "why": self.spec.get("why", ""), "where": self.where}


# ---- verify-profiles ------------------------------------------------------------------

class VerifyProfiles(Unit):
    name = "verify-profiles"
    where = "supervisor"

    def decide(self) -> None:
        la = self.launch
        files = self.spec.get("files") or []
        seccomp = la.spec("seccomp") or {}
        deny_path = (seccomp.get("deny") or {}).get("path")
        sources = {f["path"]: f["fresh"]["source"] for f in files if f.get("fresh")}
        checked, errors = 0, []
        for f in files:
            path, what = f["path"], f.get("for", "profile")
            if path == la.plan_path:
                checked += 1
                self.details.append(f"{path}: trusted ({what})")
                continue
            only_if = f.get("only-if")
            if only_if and not la.layer(only_if)[0]:
                self.details.append(f"{path}: not needed ({what}: {la.layer(only_if)[1]})")
                continue
            try:
                try:
                    data = read_trusted(path, what, la.owners, la.checked_dirs)
                except ProfileError:
                    if path == deny_path and not os.path.lexists(path):
                        allow_src = sources.get((seccomp.get("allow") or {}).get("path"), "")
                        if allow_src and not source_has_denials(allow_src):
                            self.details.append(f"{path}: absent, as it should be: the seccomp source has no "
                                                "explicit denials")
                            continue
                    raise
                if f.get("fresh"):
                    check_fresh(path, data, f["fresh"]["source"], f["fresh"]["stamp"], what)
                la.data[path] = data
                checked += 1
                self.details.append(f"{path}: trusted ({what})" + (", fresh" if f.get("fresh") else ""))
            except ProfileError as exc:
                errors.append(str(exc))
                self.details.append(f"{path}: REFUSED")
        if errors:
            self.status, self.reason = ERROR, errors[0]
            return
        owners = "root" if la.owners == (0,) else "root or you"
        self.reason = (f"{checked} files owned by {owners}, not writable by group or others, nor their directories"
                       "; compiled filters fresh")
        rules_path = (la.spec("landlock") or {}).get("rules")
        if rules_path in la.data:
            try:
                la.landlock_rules = la.loads(la.data[rules_path], rules_path)
            except ValueError as exc:
                self.status, self.reason = ERROR, f"{rules_path}: {exc}; run `{FIX}`"


# ---- mount namespace, /tmp, devpts, read-only, masks -------------------------------------

class MountNamespace(Unit):
    name = "mount-namespace"

    def decide(self) -> None:
        la = self.launch
        if la.privileged:
            self.reason = "unshare(CLONE_NEWNS), then every mount private (MS_REC|MS_PRIVATE): nothing leaks to the host"
        else:
            self.reason = (f"unshare(CLONE_NEWUSER|CLONE_NEWNS): a user namespace mapping uid {la.real_uid} and "
                           f"gid {la.real_gid} to themselves (no other id exists in it), then every mount private")

    def child(self) -> None:
        la = self.launch
        if la.privileged:
            mounts.unshare(mounts.CLONE_NEWNS)
        else:
            mounts.unshare(mounts.CLONE_NEWUSER | mounts.CLONE_NEWNS)
            # /proc/self/*_map belong to root while the process is not dumpable (as it
            # is after a change of ids): it is the invoker's own process either way
            seccomp_load._c().prctl(4, 1, 0, 0, 0)          # PR_SET_DUMPABLE
            for name, text in (("setgroups", "deny"), ("uid_map", f"{la.real_uid} {la.real_uid} 1\n"),
                               ("gid_map", f"{la.real_gid} {la.real_gid} 1\n")):
                fd = os.open(f"/proc/self/{name}", os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
        mounts.make_private("/")


def _ensure_root_dir(path: str, mode: int) -> None:
    """`path` exists as a real directory owned by root with `mode` (created if missing)."""
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise StepError(f"{path} is not a directory")
    if st.st_uid != 0:
        raise StepError(f"{path} is owned by uid {st.st_uid}, not root: refusing to use it")
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


class PrivateTmp(Unit):
    name = "private-tmp"

    def decide(self) -> None:
        la = self.launch
        target = self.spec.get("target", "/tmp")
        if la.privileged:
            self.reason = f"bind {self.spec['source']} (mode {self.spec.get('mode', '1777')}) on {target}"
        else:
            self.reason = (f"an empty tmpfs on {target}, of this run only (the snap's shared "
                           f"{self.spec['source']} needs root to create)")
        for k in self.spec.get("keep-visible") or []:
            self.details.append(f"{k['path']}: bound back at the same place"
                                + (", read-only" if k.get("read-only") else ""))

    def child(self) -> None:
        la = self.launch
        target = self.spec.get("target", "/tmp")
        keep = []
        for k in self.spec.get("keep-visible") or []:
            path = os.path.normpath(k["path"])
            if not (path + "/").startswith(target.rstrip("/") + "/"):
                continue
            fd = mounts.open_tree_clone(path, recursive=True)
            if k.get("read-only"):
                mounts.set_attr(None, mounts.MOUNT_ATTR_RDONLY, fd=fd, recursive=True)
            keep.append((path, fd))
        try:
            if la.privileged:
                parent = self.spec.get("parent") or {}
                src = self.spec["source"]
                if parent.get("path"):
                    _ensure_root_dir(os.path.dirname(parent["path"]), 0o755)
                    _ensure_root_dir(parent["path"], int(parent.get("mode", "0700"), 8))
                _ensure_root_dir(src, int(self.spec.get("mode", "1777"), 8))
                mounts.mount(src, target, None, mounts.MS_BIND | mounts.MS_REC)
            else:
                mounts.mount("tmpfs", target, "tmpfs", mounts.MS_NOSUID | mounts.MS_NODEV,
                             f"mode={self.spec.get('mode', '1777')}")
            for path, fd in keep:
                rel = path[len(target.rstrip("/")) + 1:]
                dfd = mounts.secure_mkdirs(target, rel, 0o755)
                try:
                    mounts.move_mount_to_fd(fd, dfd, path)
                finally:
                    os.close(dfd)
        finally:
            for _, fd in keep:
                os.close(fd)


class Devpts(Unit):
    name = "devpts"

    def decide(self) -> None:
        la = self.launch
        opts = self.spec.get("options", "newinstance")
        group = self.spec.get("gid-of-group")
        self.options = opts
        if group:
            if la.privileged:
                try:
                    import grp
                    self.options = f"{opts},gid={grp.getgrnam(group).gr_gid}"
                except KeyError:
                    self.details.append(f"no group {group!r} here: the pty slaves keep the app's group")
            else:
                self.details.append(f"gid of group {group!r} left out: that group does not exist in the user "
                                    "namespace")
        target = self.spec.get("target", "/dev/pts")
        self.reason = f"mount devpts ({self.options}) on {target}"
        ptmx = self.spec.get("ptmx")
        if ptmx:
            if os.path.islink(ptmx["target"]):
                self.details.append(f"{ptmx['target']} is a symlink (to {os.readlink(ptmx['target'])}): no bind needed")
            else:
                self.reason += f"; bind {ptmx['source']} on {ptmx['target']}"

    def child(self) -> None:
        target = self.spec.get("target", "/dev/pts")
        mounts.mount("devpts", target, self.spec.get("fstype", "devpts"), mounts.MS_NOSUID | mounts.MS_NOEXEC,
                     self.options)
        ptmx = self.spec.get("ptmx")
        if ptmx and not os.path.islink(ptmx["target"]):
            mounts.mount(ptmx["source"], ptmx["target"], None, mounts.MS_BIND)


class ReadOnly(Unit):
    name = "read-only"

    def decide(self) -> None:
        paths = self.spec.get("paths") or []
        self.reason = (f"{' and '.join(paths)} bound on themselves, read-only with every submount "
                       "(mount_setattr AT_RECURSIVE; else a remount of each)")

    def child(self) -> None:
        for p in self.spec.get("paths") or []:
            if self.spec.get("recursive", True):
                mounts.make_read_only(p)
            else:  # pragma: no cover - the plan always asks for recursive
                mounts.mount(p, p, None, mounts.MS_BIND)
                mounts.mount(None, p, None, mounts.MS_BIND | mounts.MS_REMOUNT | mounts.MS_RDONLY)


class MaskedPaths(Unit):
    name = "masked-paths"

    def decide(self) -> None:
        self.present = []
        for m in self.spec.get("paths") or []:
            with_ = "an empty read-only tmpfs" if m.get("with") == "tmpfs-ro" else m.get("with", "/dev/null")
            if os.path.lexists(m["path"]):
                self.present.append(m)
                self.details.append(f"{m['path']}: masked with {with_}")
            else:
                self.details.append(f"{m['path']}: skipped: absent")
        n = len(self.spec.get("paths") or [])
        self.reason = f"{len(self.present)} of {n} paths masked, {n - len(self.present)} absent here"
        if not self.present:
            self.skip(f"none of the {n} paths exists here")

    def child(self) -> None:
        for m in self.present:
            if not os.path.lexists(m["path"]):
                continue
            if m.get("with") == "tmpfs-ro":
                mounts.mount("tmpfs", m["path"], "tmpfs",
                             mounts.MS_RDONLY | mounts.MS_NOSUID | mounts.MS_NODEV | mounts.MS_NOEXEC, "mode=0555")
            else:
                mounts.mount(m.get("with", "/dev/null"), m["path"], None, mounts.MS_BIND)


# ---- data directories, environment --------------------------------------------------------

class DataDirectories(Unit):
    name = "data-directories"

    def decide(self) -> None:
        la = self.launch
        self.todo = []        # (path, owner "root"|"user", mode)
        home = la.variables.get("REAL_HOME", "")
        home_ok = bool(home) and os.path.isdir(home)
        created = skipped = 0
        for d in self.spec.get("directories") or []:
            path = expand(d["path"], la.variables)
            mode = int(d.get("mode", "0755"), 8)
            owner = d.get("owner", "root")
            if os.path.isdir(path):
                self.details.append(f"{path}: exists, left as it is")
                continue
            if d.get("if-parent-missing") == "skip" and not os.path.isdir(os.path.dirname(path)):
                self.details.append(f"{path}: skipped: its parent {os.path.dirname(path)} does not exist")
                skipped += 1
                continue
            if owner == "user" and not home_ok and home and (path + "/").startswith(home.rstrip("/") + "/"):
                self.details.append(f"{path}: skipped: the home directory {home or '(none)'} of "
                                    f"{la.user.name} does not exist")
                skipped += 1
                continue
            if owner == "root" and not la.privileged:
                self.details.append(f"{path}: skipped: only root may create it (it does not exist)")
                skipped += 1
                continue
            who = "root" if owner == "root" else la.user.name
            self.details.append(f"{path}: created, owner {who}, mode {mode:04o}")
            self.todo.append((path, owner, mode))
            la.will_create.add(path)
            created += 1
        self.reason = (f"{created} to create, {len(self.spec.get('directories') or []) - created - skipped} exist"
                       + (f", {skipped} skipped" if skipped else ""))

    def child(self) -> None:
        la = self.launch
        for path, owner, mode in self.todo:
            if owner == "user" and la.privileged:
                with as_user(la.user):
                    _mkdir(path, mode)
            else:
                _mkdir(path, mode)


def _mkdir(path: str, mode: int) -> None:
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        _mkdir(parent, 0o755)        # /var/snap on a machine that never had a snap
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        return
    except OSError as exc:
        raise StepError(f"cannot create {path}: {exc.strerror}") from None
    os.chmod(path, mode)       # whatever the umask


class Environment(Unit):
    name = "environment"
    where = "none"

    def decide(self) -> None:
        la = self.launch
        la.env = environment(self.spec, la.variables, la.caller_env)
        own = [n for n, _ in self.spec.get("set", ())]
        kept = sorted(k for k in la.env if k not in own)
        self.reason = (f"{len(own)} variables set, {len(kept)} kept from the caller"
                       + (f" ({', '.join(kept)})" if kept else "") + ", the rest dropped")
        for n in own:
            self.details.append(f"{n}={la.env[n]}")
        # the launcher's mark on the app's processes (inherited by its children):
        # how `confine ps` finds an app that has no device cgroup of its own
        la.env[TAG_VARIABLE] = la.tag
        self.details.append(f"{TAG_VARIABLE}={la.tag} (the launcher's mark, for `confine ps`)")


# ---- device cgroup and hotplug (the supervisor's) -----------------------------------------

class DeviceCgroup(Unit):
    name = "device-cgroup"
    where = "supervisor"
    cg = None
    mounts = None
    join_fd = None          # the child joins the cgroup itself through this fd (v1); else attach(pid)

    def decide(self) -> None:
        la = self.launch
        if self.spec.get("skip"):
            return self.skip(self.spec["skip"])
        if not la.privileged:
            return self.skip(f"needs real root (a cgroup of its own for the app): running as uid {la.real_uid} "
                             "in a user namespace, the app keeps the devices its user may open")
        try:
            from . import devcgroup
        except ImportError as exc:
            self.status, self.reason = ERROR, (f"the device cgroup module is missing "
                                               f"(backends/native/launch/devcgroup.py: {exc})")
            return
        self.module = devcgroup
        found = self.mounts = devcgroup.find_mounts()
        if found.get("v1") and found.get("v1-writable"):
            where = f"cgroup v1 devices controller at {found['v1']}"
        elif found.get("v2"):
            where = f"cgroup v2 BPF device program under {found['v2']}"
        else:
            self.status, self.reason = ERROR, ("no writable cgroup v1 devices controller and no cgroup2 mount: "
                                               "the device cgroup cannot be made (see `confine doctor`)")
            return
        matches = self.spec.get("matches") or []
        common = self.spec.get("common") or []
        self.reason = (f"{where}: deny all, allow {len(common)} common device rules"
                       + (f" and the devices {len(matches)} device matches select" if matches else "")
                       + "; removed when the app exits")
        if matches and la.explaining:
            try:
                found = devcgroup.matched_devices(matches)
            except Exception as exc:            # pyudev missing or /sys unreadable: said, not hidden
                self.details.append(f"the matching devices cannot be listed here: {exc}")
            else:
                for d in found:
                    self.details.append(f"{d['node'] or d['devpath']} ({d['type']} {d['major']}:{d['minor']}): "
                                        f"matched by {d['match']}")
                if not found:
                    self.details.append("no device present now matches (hotplug adds those that appear)")

    def setup(self) -> None:
        """Before the fork: make the cgroup, and open the fd the child joins it through
        where the kernel has a cheap way (see devcgroup.DeviceCgroup.self_attach_fd)."""
        self.cg = self.module.setup(self.spec, self.launch.tag, mounts=self.mounts)
        if self.cg is None:             # never run without the cgroup the plan asks for
            raise StepError("devcgroup.setup made no cgroup for a step that applies")
        self.join_fd = self.cg.self_attach_fd()
        self.details = self.cg.explain().splitlines()

    def attach(self, pid: int) -> None:
        """In the supervisor, after the fork: put the child in, unless it joins by itself."""
        if self.join_fd is not None:
            fd, self.join_fd = self.join_fd, None
            os.close(fd)                # the child holds its own copy
            return
        if self.cg is not None:
            self.cg.attach(pid)

    def child(self) -> None:
        """In the child, at this step's place: join the cgroup (when it joins by itself)."""
        if self.join_fd is not None:
            fd, self.join_fd = self.join_fd, None
            self.module.join(fd)

    def cleanup(self) -> None:
        if self.join_fd is not None:    # the fork never happened
            fd, self.join_fd = self.join_fd, None
            os.close(fd)
        if self.cg is not None:
            cg, self.cg = self.cg, None
            cg.remove()


class Hotplug(Unit):
    name = "hotplug"
    where = "supervisor"
    monitor = None

    def decide(self) -> None:
        if self.spec.get("skip"):
            return self.skip(self.spec["skip"])
        dev = self.launch.unit("device-cgroup")
        if dev is None or not dev.applies:
            return self.skip("no device cgroup to add devices to" + (f" ({dev.reason})" if dev else ""))
        self.reason = (f"watch kernel uevents for {len(self.spec.get('matches') or [])} device matches while "
                       "the app runs; allow a matching device that appears, revoke it when it goes")

    def start(self) -> None:
        from . import hotplug
        dev = self.launch.unit("device-cgroup")
        self.monitor = hotplug.start(self.spec, dev.cg)

    def cleanup(self) -> None:
        if self.monitor is not None:
            m, self.monitor = self.monitor, None
            m.stop()


# ---- AppArmor, Landlock ------------------------------------------------------------------

APPARMOR_FS = "/sys/kernel/security/apparmor"


class AppArmor(Unit):
    name = "apparmor"

    def decide(self) -> None:
        label = self.spec.get("label", "")
        try:
            with open(os.path.join(APPARMOR_FS, "profiles"), encoding="utf-8", errors="replace") as f:
                loaded = any(line.split(" (")[0] == label for line in f)
        except OSError as exc:
            self.status, self.reason = ERROR, f"cannot read the loaded AppArmor profiles: {exc.strerror}"
            return
        if not loaded:
            self.status, self.reason = ERROR, (f"the AppArmor profile {label} is not loaded in the kernel: "
                                               f"run `{FIX}` (as root, on the system state)")
            return
        self.reason = f"exec transition to {label} ({self.spec.get('mode', 'enforce')}) when the app is exec'd"

    def prepare_child(self) -> None:
        # opened before /proc is made read-only (the open holds the old, writable mount)
        for p in ("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"):
            try:
                self.fd = os.open(p, os.O_WRONLY | os.O_CLOEXEC)
                return
            except OSError:
                continue
        raise StepError("no /proc/self/attr/apparmor/exec nor /proc/self/attr/exec to write")

    def child(self) -> None:
        try:
            os.write(self.fd, f"exec {self.spec['label']}".encode())
        finally:
            os.close(self.fd)


def r_access(rules: dict, written: str) -> str:
    return next((r["access"] for r in rules.get("fs", ()) if r["path"] == written), "?")


class Landlock(Unit):
    name = "landlock"

    def decide(self) -> None:
        la = self.launch
        rules = la.landlock_rules
        if rules is None:
            self.status, self.reason = ERROR, f"the Landlock rules {self.spec.get('rules')} were not read"
            return
        try:
            p = landlock.prepare(rules, la.variables, la.layer("landlock")[2])
        except (OSError, ValueError, KeyError) as exc:
            self.status, self.reason = ERROR, f"{self.spec.get('rules')}: {exc}"
            return
        if not p.restricts():
            return self.skip(p.summary() + ": nothing left for Landlock to restrict")
        self.reason = p.summary() + (" (paths as the host sees them now; resolved again inside)" if p.handled_fs
                                     else "")
        for r in p.rules:
            self.details.append(f"{r.path}: {r.access}" + ("" if r.is_dir else " (file)"))
        made = self.launch.will_create
        for written, path, why in p.skipped:
            if path in made:
                self.details.append(f"{path}: {r_access(rules, written)} (created by data-directories)")
            else:
                self.details.append(f"{written if written == path else f'{path} ({written})'}: skipped: {why}")

    def child(self) -> None:
        la = self.launch
        p = landlock.prepare(la.landlock_rules, la.variables, la.layer("landlock")[2])
        landlock.enforce(p)


class Capabilities(Unit):
    name = "capabilities"

    def decide(self) -> None:
        keep = self.spec.get("keep", [])
        if keep == capabilities.ALL:
            return self.skip("an interface grants every capability (`capability,`)")
        unknown = [n for n in keep if n not in capabilities.NUMBER]
        if unknown:
            raise ValueError(f"unknown capabilities {unknown}")
        self.keep = {capabilities.NUMBER[n] for n in keep}
        have = capabilities.bounding_set()
        drop = sorted(have - self.keep)
        names = [capabilities.NAMES[n] if n < len(capabilities.NAMES) else str(n) for n in drop]
        self.reason = (f"keeps {', '.join(keep) if keep else 'none'}; drops {len(drop)} from the bounding set"
                       + (" (the app runs as a user without capabilities: this also binds setuid programs)"
                          if self.launch.user.uid != 0 else ""))
        if names:
            self.details.append("dropped: " + " ".join(names))

    def child(self) -> None:
        try:
            capabilities.restrict(self.keep)
        except OSError as exc:
            raise StepError(str(exc)) from None


# ---- user, no_new_privs, seccomp, exec -------------------------------------------------------

class SwitchUser(Unit):
    name = "switch-user"

    def decide(self) -> None:
        la = self.launch
        u = la.user
        if not la.privileged:
            return self.skip(f"runs as the invoking user {u.name} (uid {u.uid}): switching to another user "
                             "needs real root")
        self.reason = f"setgroups {u.groups}, setresgid {u.gid}, setresuid {u.uid}: runs as {u.name}"

    def child(self) -> None:
        switch(self.launch.user)


class NoNewPrivs(Unit):
    name = "no-new-privs"

    def decide(self) -> None:
        self.reason = "prctl(PR_SET_NO_NEW_PRIVS, 1): setuid programs and file capabilities raise nothing"

    def child(self) -> None:
        seccomp_load.set_no_new_privs()


class Seccomp(Unit):
    name = "seccomp"

    def decide(self) -> None:
        la = self.launch
        allow, deny = self.spec.get("allow") or {}, self.spec.get("deny") or {}
        self.filters = []
        allow_bpf = la.data.get(allow.get("path"))
        if allow_bpf is None:
            self.status, self.reason = ERROR, f"the allow filter {allow.get('path')} was not read"
            return
        if seccomp_load.is_unrestricted(allow_bpf):
            return self.skip("the app's policy is @unrestricted: no filter is loaded")
        by_name = {"deny": deny, "allow": allow}
        for which in self.spec.get("order", ("deny", "allow")):
            f = by_name[which]
            bpf = la.data.get(f.get("path"))
            if bpf is None:
                self.details.append(f"{which}: none ({f.get('path')} absent: no explicit denials)")
                continue
            log = "log" in (f.get("flags") or ())
            self.filters.append((which, bpf, log))
            self.details.append(f"{which}: {f['path']}, {len(bpf) // 8} instructions"
                                + (", SECCOMP_FILTER_FLAG_LOG" if log else ""))
        self.reason = " then ".join(f"the {w} filter" for w, _, _ in self.filters) + " loaded"

    def child(self) -> None:
        for which, bpf, log in self.filters:
            try:
                seccomp_load.load_filter(bpf, log=log)
            except OSError as exc:
                raise StepError(f"the {which} filter: {exc.strerror or exc}") from None


class Exec(Unit):
    name = "exec"

    def decide(self) -> None:
        la = self.launch
        if la.shell:
            self.program = "/bin/sh"
            self.argv = ["/bin/sh"] + list(la.args)
        else:
            self.program = self.spec["program"]
            self.argv = [self.spec.get("argv0") or self.program] + list(self.spec.get("args") or [])
            if self.spec.get("append-user-args", True):
                self.argv += list(la.args)
        cwd = self.spec.get("cwd") or {}
        fallback = expand(cwd.get("fallback", "/"), la.variables)
        self.cwds = [c for c in (la.caller_cwd, fallback, "/") if c]
        shown = " ".join(self.argv)
        self.reason = f"execve {self.program}" + (f" (argv: {shown})" if shown != self.program else "")
        self.details.append("cwd: the first that exists inside: " + ", ".join(self.cwds))

    def child(self) -> None:
        la = self.launch
        for c in self.cwds:
            try:
                os.chdir(c)
                break
            except OSError:
                continue
        try:
            os.execve(self.program, self.argv, la.env)
        except OSError as exc:
            raise StepError(f"execve {self.program}: {exc.strerror}") from None


UNITS = {u.name: u for u in (VerifyProfiles, MountNamespace, PrivateTmp, Devpts, ReadOnly, MaskedPaths,
                             DataDirectories, Environment, DeviceCgroup, Hotplug, AppArmor, Landlock, Capabilities, SwitchUser,
                             NoNewPrivs, Seccomp, Exec)}
