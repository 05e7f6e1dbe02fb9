"""`confine run`: start an app under its precompiled profiles, following its launch plan.

    run(root, "hello.hello", ["arg"], shell=False, user=None, explain=False) -> exit status

The runner reads only precompiled artifacts (the plan JSON, the Landlock rules
JSON, the seccomp filters), checked by the plan's first step, and imports
nothing heavy (no YAML, libseccomp, pyudev unless the app has device matches,
nor the engine): it is the fast path.

Process shape, as snap-confine and bwrap have it:

    supervisor (this process)                  child (becomes the app)
    verify the profiles, decide every step
    set up the device cgroup
    fork ------------------------------------> mount namespace, private /tmp, devpts,
    (v2: put the child in the device cgroup)     read-only /proc and /sys, masked paths,
    start the hotplug monitor                    data directories
                                               (v1: joins the device cgroup itself)
    release the child  ----- sync pipe ----->  (waits here: device-cgroup's place)
                                               AppArmor, Landlock, user, no_new_privs,
    forward SIGINT/SIGTERM/SIGHUP/SIGQUIT        seccomp deny + allow filters, execve
      (the terminal's interrupt and quit keys reach the app itself)
    wait; stop hotplug; remove the cgroup
    return the app's status (128+N when killed by signal N)

Joining: a v1 child writes 0 to the cgroup's `tasks` through a descriptor the
supervisor opened before the fork. Moving another process (a pid written to
cgroup.procs) waits for an RCU grace period under the global threadgroup lock,
5-15 ms here; a single-threaded process moving itself skips that lock.

A step that fails in the child is reported by name through a close-on-exec error
pipe (an empty pipe at EOF means the execve happened).

Unprivileged invokers run the app through a user namespace that maps their own
uid and gid: the mount steps work there, the steps that need real root (device
cgroup, hotplug, switching to another user) are reported as skipped by name.
"""
from __future__ import annotations

import os
import sys

try:                                   # loaded now: an unprivileged child may not reach it later
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - a Python without the C accelerator
    _make_scanner = None

from ...errors import ConfineError
from . import steps as _steps
from .users import UserError, resolve
from .verify import FIX, ProfileError, read_trusted
from .env import variables as _variables

__all__ = ["run", "explain_steps", "LaunchError", "Launch"]

EXIT_LAUNCH_FAILED = 126
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


class LaunchError(ConfineError):
    """The app could not be started; the message names the step or the file and the fix."""


# ---- JSON without the json package (json imports re and enum: milliseconds here) -----------

class _JsonContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name):
        raise ValueError(f"{name} is not allowed")


def loads(data: bytes, path: str = "") -> object:
    text = data.decode("utf-8")
    if _make_scanner is None:  # pragma: no cover - a Python without the C accelerator
        import json
        return json.loads(text)
    scan = _make_scanner(_JsonContext())
    ws = " \t\n\r"
    i = 0
    while i < len(text) and text[i] in ws:
        i += 1
    try:
        obj, end = scan(text, i)
    except StopIteration as exc:
        raise ValueError(f"{path}: not JSON (at character {exc.value})") from None
    except Exception:        # the C scanner reports some errors through json.decoder, not imported here
        import json
        try:
            json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
        raise ValueError(f"{path}: not JSON") from None
    while end < len(text) and text[end] in ws:
        end += 1
    if end != len(text):
        raise ValueError(f"{path}: extra data at character {end}")
    return obj


# ---- the launch: inputs, plan, steps -----------------------------------------------------

def _split_target(target: str) -> tuple[str, str]:
    snap, sep, app = target.partition(".")
    if not sep:
        app = snap          # `confine run hello` is hello.hello, as `snap run` has it
    for part in (snap, app):
        if not part or part.startswith((".", "-")) or "/" in part or "\0" in part:
            raise LaunchError(f"name an app as SNAP.APP, not {target!r}")
    return snap, app


class Launch:
    """One launch: who runs what, the plan read and checked, the step units decided."""

    def __init__(self, root: str, target: str, args=(), *, shell: bool = False, user: str | None = None):
        self.root = os.path.abspath(os.fspath(root))
        self.snap, self.app = _split_target(target)
        self.tag = f"snap.{self.snap}.{self.app}"
        self.target = f"{self.snap}.{self.app}"
        self.args = list(args)
        self.shell = shell
        self.privileged = os.geteuid() == 0
        self.real_uid, self.real_gid = os.getuid(), os.getgid()
        self.owners = (0,) if self.privileged else (0, os.geteuid())
        self.checked_dirs: set[str] = set()
        self.data: dict[str, bytes] = {}
        self.landlock_rules = None
        self.loads = loads
        self._layers: dict[str, tuple] = {}
        self.caller_env = dict(os.environ)
        try:
            self.caller_cwd = os.getcwd()
        except OSError:
            self.caller_cwd = None
        try:
            self.user = resolve(user)
        except UserError as exc:
            raise LaunchError(str(exc)) from None
        if not self.privileged and self.user.uid != self.real_uid:
            raise LaunchError(f"--user {user}: only root may run an app as another user "
                              f"(you are uid {self.real_uid})")
        self.plan_path = os.path.join(self.root, "profiles", "launch", self.tag + ".json")
        self.plan = self._read_plan()
        self.specs = {s["step"]: s for s in self.plan["steps"]}
        inputs = {"UID": str(self.user.uid), "GID": str(self.user.gid), "USER": self.user.name,
                  "REAL_HOME": self.user.home}
        try:
            self.variables = _variables(inputs, self.specs.get("environment"))
        except ValueError as exc:
            raise LaunchError(f"{self.plan_path}: {exc}; run `{FIX}`") from None
        self.env = {}
        self.will_create: set[str] = set()
        self.explaining = False
        self.units: list = []

    def _read_plan(self) -> dict:
        if not os.path.exists(self.plan_path):
            if not os.path.isdir(os.path.join(self.root, "profiles")):
                raise LaunchError(f"{self.plan_path}: no launch plan: no profiles under {self.root} "
                                  f"(wrong --root? else run `{FIX}`)")
            raise LaunchError(f"{self.plan_path}: no launch plan for {self.target}: is snap {self.snap!r} "
                              f"installed with an app {self.app!r}? (else run `{FIX}`)")
        try:
            data = read_trusted(self.plan_path, "launch plan", self.owners, self.checked_dirs)
            plan = loads(data, self.plan_path)
        except ProfileError as exc:
            raise LaunchError(str(exc)) from None
        except ValueError as exc:
            raise LaunchError(f"{exc}; run `{FIX}`") from None
        if not isinstance(plan, dict) or plan.get("schema") != 1 or plan.get("tag") != self.tag:
            raise LaunchError(f"{self.plan_path}: not a launch plan of schema 1 for {self.tag}: run `{FIX}`")
        return plan

    def spec(self, name: str) -> dict | None:
        return self.specs.get(name)

    def unit(self, name: str):
        for u in self.units:
            if u.name == name:
                return u
        return None

    # probes: (available, why not, value); cheap, once per launch
    def layer(self, name: str) -> tuple:
        if name not in self._layers:
            self._layers[name] = _probe(name)
        return self._layers[name]

    def decide(self) -> list:
        """Build and decide every step of the plan, in its order."""
        for spec in self.plan["steps"]:
            cls = _steps.UNITS.get(spec["step"])
            if cls is None:
                raise LaunchError(f"{self.plan_path}: step {spec['step']!r} is unknown to this launcher: "
                                  f"run `{FIX}` (or update confine)")
            u = cls(self, spec)
            self.units.append(u)
            if spec.get("skip"):
                u.skip(spec["skip"])
                continue
            req = spec.get("requires")
            if req and u.name != "device-cgroup":
                probes = [self.layer(r) for r in req]
                if not any(p[0] for p in probes):
                    u.skip("; ".join(p[1] for p in probes))
                    continue
            try:
                u.decide()
            except _steps.StepError as exc:
                u.status, u.reason = _steps.ERROR, str(exc)
            except ValueError as exc:
                u.status, u.reason = _steps.ERROR, f"{self.plan_path}: {exc}; run `{FIX}`"
        return self.units

    def headline(self) -> str:
        who = f"{self.user.name} (uid {self.user.uid})"
        how = "" if self.privileged else f", unprivileged (uid {self.real_uid}: through a user namespace)"
        return (f"confine run {self.target}: {self.tag} ({self.plan.get('confinement', '?')}, revision "
                f"{self.plan.get('revision', '?')}) as {who}{how}; state {self.root}")


def _probe(name: str) -> tuple:
    if name == "landlock":
        from ..landlock.apply import kernel_abi
        abi, why = kernel_abi()
        return (abi > 0, why, abi)
    if name == "seccomp":
        from ..seccomp.load import _c
        from .ctypes_lite import set_errno
        set_errno(0)
        if _c().prctl(21, 0, 0, 0, 0) < 0:                  # PR_GET_SECCOMP
            return (False, "the kernel has no seccomp (CONFIG_SECCOMP_FILTER unset)", None)
        return (True, "", None)
    if name == "apparmor-kernel":
        if os.path.isdir(_steps.APPARMOR_FS):
            return (True, "", None)
        try:
            with open("/sys/module/apparmor/parameters/enabled") as f:
                if f.read().strip() == "Y":
                    return (True, "", None)
            return (False, "AppArmor is built in but disabled at boot", None)
        except OSError:
            return (False, "the kernel has no AppArmor", None)
    if name == "mount-namespace":
        if os.path.exists("/proc/self/ns/mnt"):
            return (True, "", None)
        return (False, "the kernel has no mount namespaces", None)
    if name == "user-namespace":
        try:
            with open("/proc/sys/user/max_user_namespaces") as f:
                if int(f.read().strip() or 0) > 0:
                    return (True, "", None)
            return (False, "user namespaces are disabled (user.max_user_namespaces = 0)", None)
        except (OSError, ValueError):
            return (False, "the kernel has no user namespaces", None)
    return (False, f"unknown layer {name!r}", None)


# ---- explain -----------------------------------------------------------------------------

def explain_steps(root, target: str, args=(), *, shell: bool = False, user: str | None = None) -> tuple[str, list]:
    """(headline, [unit.to_json()]) for every step: what it would do here, or why not."""
    launch = _prepared(root, target, args, shell=shell, user=user, explaining=True)
    return launch.headline(), [u.to_json() for u in launch.units]


def format_explain(headline: str, units: list[dict], details: bool = True) -> str:
    width = max(len(u["step"]) for u in units) if units else 0
    lines = [headline]
    for i, u in enumerate(units, 1):
        lines.append(f"{i:2}. {u['step']:<{width}}  {u['status']:<7}  {u['reason']}".rstrip())
        if details:
            for d in u["details"]:
                lines.append(f"{'':{width + 15}}{d}")
    return "\n".join(lines)


def _prepared(root, target, args, *, shell, user, explaining: bool = False) -> Launch:
    launch = Launch(root, target, args, shell=shell, user=user)
    launch.explaining = explaining
    if not launch.privileged:
        ok, why, _ = launch.layer("user-namespace")
        if not ok:
            raise LaunchError(f"an unprivileged run needs a user namespace: {why}")
    launch.decide()
    return launch


# ---- run ------------------------------------------------------------------------------

def run(root, target: str, args=(), *, shell: bool = False, user: str | None = None, explain: bool = False,
        out=None) -> int:
    """Run SNAP.APP of the state at `root` confined; return its exit status.

    `explain`: print every step (applies, skipped and why, or error) and run
    nothing; returns 0, or 1 when a step could not be taken. Raises LaunchError
    when the app cannot be started (a refused profile, a failed step)."""
    out = out or sys.stdout
    launch = _prepared(root, target, args, shell=shell, user=user, explaining=explain)
    if explain:
        out.write(format_explain(launch.headline(), [u.to_json() for u in launch.units]) + "\n")
        out.flush()
        return 1 if any(u.status == _steps.ERROR for u in launch.units) else 0
    for u in launch.units:
        if u.status == _steps.ERROR:
            raise LaunchError(f"{u.name}: {u.reason}")
    return _supervise(launch)


def _supervise(launch: Launch) -> int:
    import _signal

    dev = launch.unit("device-cgroup")
    hot = launch.unit("hotplug")
    child_units = [u for u in launch.units if u.where == "child" and u.applies]
    pid = 0
    saved: dict[int, object] = {}
    try:
        if dev is not None and dev.applies:
            try:
                dev.setup()
            except (ConfineError, OSError, ValueError, _steps.StepError) as exc:
                raise LaunchError(f"device-cgroup: {exc}") from None
        sync_r, sync_w = os.pipe()
        err_r, err_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:                                   # the child: never returns
            os.close(sync_w)
            os.close(err_r)
            _child(launch, child_units, sync_r, err_w, dev if dev is not None and dev.applies else None)
        os.close(sync_r)
        os.close(err_w)

        def forward(signum, frame):
            # ^C and ^\ on the terminal reach the app by themselves when we are the
            # terminal's foreground group (the app is in our group): once is enough
            if signum in terminal_signals and _terminal_foreground():
                return
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        terminal_signals = (_signal.SIGINT, _signal.SIGQUIT)

        for name in FORWARDED:
            signum = getattr(_signal, name)
            saved[signum] = _signal.signal(signum, forward)

        step = "device-cgroup"
        try:
            if dev is not None and dev.applies:
                dev.attach(pid)
            step = "hotplug"
            if hot is not None and hot.applies:
                import gc
                gc.enable()        # a monitor thread for the app's lifetime: no garbage kept (main_exit turns it off)
                hot.start()
        except BaseException as exc:
            _kill(pid)
            pid = 0
            os.close(sync_w)
            os.close(err_r)
            raise LaunchError(f"{step}: {exc}") from None
        os.write(sync_w, b"g")
        os.close(sync_w)
        failure = _read_all(err_r)
        os.close(err_r)
        _, status = os.waitpid(pid, 0)
        pid = 0
        if failure:
            raise LaunchError(failure.decode("utf-8", "replace"))
        code = os.waitstatus_to_exitcode(status)
        return code if code >= 0 else 128 - code
    finally:
        if pid:
            _kill(pid)
        for signum, handler in saved.items():
            _signal.signal(signum, handler)
        problems = []
        for u in (hot, dev):
            if u is not None and u.applies:
                try:
                    u.cleanup()
                except Exception as exc:               # reported, never silently left behind
                    problems.append(f"{u.name}: cleanup failed: {exc}")
        if problems:
            sys.stderr.write("confine: " + "; ".join(problems) + "\n")


def _terminal_foreground() -> bool:
    """Whether this process's group is the foreground group of its terminal."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _child(launch: Launch, units: list, sync_r: int, err_w: int, dev=None) -> None:
    """The app's process: every child step in plan order, then execve. Never returns.
    `dev`: the device-cgroup unit, whose cgroup this process joins by itself where it
    can (single-threaded here: fork copied one thread), before it waits to be released."""
    import _signal

    current = "start"
    try:
        # Python ignores SIGPIPE and SIGXFSZ; ignored signals stay ignored across execve.
        for name in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"):
            _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
        for u in units:
            current = u.name
            u.prepare_child()
        waited = False
        for spec in launch.plan["steps"]:
            name = spec["step"]
            if name in ("device-cgroup", "hotplug", "apparmor", "landlock", "switch-user", "no-new-privs",
                        "seccomp", "exec") and not waited:
                current = "device-cgroup"
                if dev is not None:
                    dev.child()
                if os.read(sync_r, 1) != b"g":        # the supervisor gave up
                    os._exit(EXIT_LAUNCH_FAILED)
                os.close(sync_r)
                waited = True
            u = next((x for x in units if x.name == name), None)
            if u is not None:
                current = name
                u.child()
        raise _steps.StepError("the plan has no exec step")
    except BaseException as exc:
        msg = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
            msg = f"{exc.filename}: {msg}"
        try:
            os.write(err_w, f"{current}: {msg}".encode("utf-8", "replace"))
        finally:
            os._exit(EXIT_LAUNCH_FAILED)
