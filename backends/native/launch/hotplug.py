"""Hotplug: while an app runs, devices that appear and match its device matches
are allowed in its device cgroup, and taken back when they go, as snapd's
snap-device-helper does when udev runs it.

No udevd runs here, so the monitor listens to the kernel itself: a
NETLINK_KOBJECT_UEVENT socket bound to the kernel's multicast group (1), read
in a named daemon thread. A raw socket rather than a pyudev Monitor: it is the
same kernel source (what a pyudev Monitor with source "kernel" opens through
libudev), but it needs no libudev monitor object or pyudev observer, its
messages are NUL-separated KEY=VALUE lines that take a few lines to parse, and
the monitor checks the sender itself: only the kernel (netlink port 0) is
believed. pyudev is used only to build a full device (sysfs attributes of
parents) when a match needs `attrs`, and to rescan /sys.

The socket is bound before `start()` returns, so no event after it is missed;
the thread then rescans /sys once (a device that came or went between the
cgroup's setup and the monitor's start is reconciled), and again whenever the
socket overflows (ENOBUFS).

`start(step, cg)` returns a Monitor (None when the step says skip or has no
matches); `monitor.stop()` closes the socket and joins the thread.
"""
from __future__ import annotations

import collections
import errno
import os
import threading
import time
from typing import Any, Callable

from .devcgroup import DeviceCgroup, DeviceCgroupError, _describe_match, matched_devices

__all__ = ["Monitor", "start", "parse_uevent"]

NETLINK_KOBJECT_UEVENT = 15
KERNEL_GROUP = 1
SO_RCVBUFFORCE = 33
RCVBUF = 4 << 20
NODE_ACTIONS = ("add", "change", "bind", "move", "online")


def parse_uevent(data: bytes) -> dict[str, str] | None:
    """A kernel uevent datagram (`action@devpath\\0KEY=VALUE\\0...`) as its
    properties, or None for anything else (libudev's own messages)."""
    head, _, rest = data.partition(b"\0")
    if b"@" not in head or head.startswith(b"libudev"):
        return None
    props: dict[str, str] = {}
    for item in rest.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            props[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    if "ACTION" not in props or "DEVPATH" not in props:
        action, _, devpath = head.decode("utf-8", "replace").partition("@")
        props.setdefault("ACTION", action)
        props.setdefault("DEVPATH", devpath)
    return props


class Monitor:
    """The hotplug watcher of one run. `events` records what it did with each event
    ({"seq", "action", "devpath", "number", "result", "time"}: the last 1000);
    `count` is the number recorded so far; `wait_for()` waits on them."""

    def __init__(self, step: dict, cg: DeviceCgroup, on_event: Callable[[dict], None] | None = None):
        self.cg = cg
        self.matches = list(step.get("matches") or [])
        self.access = step.get("access") or "rwm"
        self.on_event = on_event
        self.events: collections.deque = collections.deque(maxlen=1000)
        self.error: BaseException | None = None
        self.count = 0
        self.synced = threading.Event()           # the first rescan of /sys is done
        self._cond = threading.Condition()
        self._needs_sysfs = any(m.get("attrs") for m in self.matches)
        self._context: Any = None                 # a pyudev Context, made when first needed
        import socket          # here, not at import: the launcher imports this module only to call start()

        try:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT)
        except OSError as exc:
            raise DeviceCgroupError(f"cannot listen to kernel uevents (NETLINK_KOBJECT_UEVENT): {exc}",
                                    "uevent-netlink") from exc
        try:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            except OSError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self._sock.bind((0, KERNEL_GROUP))
        except OSError as exc:
            self._sock.close()
            raise DeviceCgroupError(f"cannot join the kernel's uevent group: {exc}", "uevent-netlink") from exc
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"confine-hotplug {cg.tag}", daemon=True)
        self._thread.start()

    # --- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        import select

        try:
            self._rescan()
            self.synced.set()
            while True:
                ready, _, _ = select.select([self._sock, self._stop_r], [], [])
                if self._stop_r in ready:
                    return
                try:
                    data, (port, _groups) = self._sock.recvfrom(1 << 16)
                except OSError as exc:
                    if exc.errno == errno.ENOBUFS:      # events were dropped: resync from /sys
                        self._record({"action": "overflow", "devpath": None, "number": None,
                                      "result": "rescanned /sys"})
                        self._rescan()
                        continue
                    if exc.errno in (errno.EAGAIN, errno.EINTR):
                        continue
                    raise
                if port != 0:                           # only the kernel is believed
                    continue
                props = parse_uevent(data)
                if props is not None:
                    self._handle(props)
        except BaseException as exc:   # recorded for the launcher; the thread must not die silently
            self.error = exc
            self._record({"action": "error", "devpath": None, "number": None, "result": f"monitor stopped: {exc!r}"})
        finally:
            self.synced.set()

    def _record(self, event: dict) -> None:
        event["time"] = time.monotonic()
        with self._cond:
            event["seq"] = self.count
            self.count += 1
            self.events.append(event)
            self._cond.notify_all()
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                pass

    def _device(self, props: dict[str, str]) -> Any:
        devpath = props["DEVPATH"]
        if self._needs_sysfs:
            import pyudev

            if self._context is None:
                self._context = pyudev.Context()
            try:
                return pyudev.Devices.from_sys_path(self._context, "/sys" + devpath)
            except Exception:         # gone already
                return None
        return {"subsystem": props.get("SUBSYSTEM"), "sys_name": devpath.rsplit("/", 1)[-1],
                "device_path": devpath, "properties": props}

    def _handle(self, props: dict[str, str]) -> None:
        action, devpath = props["ACTION"], props["DEVPATH"]
        if action == "move" and props.get("DEVPATH_OLD") in self.cg.devices:
            self.cg.devices[devpath] = self.cg.devices.pop(props["DEVPATH_OLD"])
        if action == "remove":
            if devpath in self.cg.devices:
                self._revoke(devpath, "remove")
            return
        if action not in NODE_ACTIONS or "MAJOR" not in props or "MINOR" not in props:
            return
        number = ("b" if props.get("SUBSYSTEM") == "block" else "c", int(props["MAJOR"]), int(props["MINOR"]))
        device = self._device(props)
        found = matched_devices(self.matches, [device]) if device is not None else []
        if not found:
            result = "not matched"
            if devpath in self.cg.devices:          # no longer matches (a changed attribute)
                self._revoke(devpath, action)
                return
            self._record({"action": action, "devpath": devpath, "number": number, "result": result})
            return
        self._grant(found[0], action)

    def _grant(self, d: dict, action: str) -> None:
        number = (d["type"], d["major"], d["minor"])
        old = self.cg.devices.get(d["devpath"])
        if old is not None and (old["type"], old["major"], old["minor"]) == number:
            self._record({"action": action, "devpath": d["devpath"], "number": number, "result": "already allowed"})
            return
        if old is not None:
            self._revoke(d["devpath"], action)
        try:
            self.cg.allow(d["type"], d["major"], d["minor"], self.access,
                          f"{d['node'] or d['devpath']} (hotplug, matched by {d['match']})")
            self.cg.devices[d["devpath"]] = d
            result = "allowed"
        except Exception as exc:
            result = f"error: {exc}"
        self._record({"action": action, "devpath": d["devpath"], "number": number, "result": result})

    def _revoke(self, devpath: str, action: str) -> None:
        d = self.cg.devices.pop(devpath)
        number = (d["type"], d["major"], d["minor"])
        still = number in self.cg.common or any(
            (o["type"], o["major"], o["minor"]) == number for o in self.cg.devices.values())
        result = "kept (also granted otherwise)"
        if not still:
            try:
                self.cg.deny(*number)
                result = "revoked"
            except Exception as exc:
                result = f"error: {exc}"
        self._record({"action": action, "devpath": devpath, "number": number, "result": result})

    def _rescan(self) -> None:
        found = {d["devpath"]: d for d in matched_devices(self.matches) if d["devpath"]}
        for devpath in [p for p in self.cg.devices if p not in found]:
            self._revoke(devpath, "rescan")
        for devpath, d in found.items():
            old = self.cg.devices.get(devpath)
            if old is None or (old["type"], old["major"], old["minor"]) != (d["type"], d["major"], d["minor"]):
                self._grant(d, "rescan")

    # --- the launcher's side ---------------------------------------------------------

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float, since: int = 0) -> dict | None:
        """The first recorded event numbered `since` or later (take `count` before
        acting) for which `predicate` holds, waiting at most `timeout` seconds;
        None on timeout or when the thread has stopped."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if event["seq"] >= since and predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return None
                self._cond.wait(left)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching: wake the thread, join it, close the socket. Idempotent."""
        if self._stop_w >= 0:
            try:
                os.write(self._stop_w, b"x")
            except OSError:
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"hotplug monitor of {self.cg.tag} did not stop within {timeout} s")
        for fd_name in ("_stop_r", "_stop_w"):
            fd = getattr(self, fd_name)
            if fd >= 0:
                os.close(fd)
                setattr(self, fd_name, -1)
        self._sock.close()

    def explain(self) -> str:
        what = "; ".join(_describe_match(m) for m in self.matches)
        return (f"hotplug: kernel uevents (NETLINK_KOBJECT_UEVENT) watched by thread {self._thread.name!r}; "
                f"matching devices ({what}) are allowed in {self.cg.path} and revoked when removed")

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(step: dict, cg: DeviceCgroup | None, on_event: Callable[[dict], None] | None = None) -> Monitor | None:
    """Watch for devices matching the plan's `hotplug` step while the app runs.
    None when the step says skip, has no matches, or there is no device cgroup.
    Stop the monitor before removing the cgroup. Raises DeviceCgroupError (layer
    `uevent-netlink`) when the kernel's uevents cannot be listened to."""
    if step.get("skip") or not step.get("matches") or cg is None:
        return None
    return Monitor(step, cg, on_event)
