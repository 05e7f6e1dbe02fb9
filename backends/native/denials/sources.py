"""Where denial records come from: raw records (audit type + text), fed to the parser.

    netlink        the audit netlink socket's read-log multicast group (NETLINK_AUDIT,
                   group 1 AUDIT_NLGRP_READLOG). Every record the kernel's audit
                   queue sends, whether or not an audit daemon runs, about 0.3 ms
                   after the event; lossless unless the socket's buffer overflows
                   (ENOBUFS, reported). Needs CAP_AUDIT_READ (root). Live only.
    kmsg           /dev/kmsg: what the kernel printed. Without an audit daemon the
                   kernel prints audit records there too, but through the printk rate
                   limit (about 10 records per 5 s): bursts are lost, so this source
                   always carries a warning. Its ring buffer also gives some history.
    file:PATH      a log file (auditd's audit.log, kern.log, syslog, a `journalctl -o
                   export` file), read whole or followed (watchdog) across rotation
                   (the file renamed or removed and created again) and truncation.
    stdin          standard input, line by line.

`open_source(spec, follow=..., since=...)` opens one, or picks with "auto": for
following, netlink, else the audit log when auditd writes one, else kmsg (with its
warning), else kern.log or syslog; for history, the audit log, kern.log, syslog,
then the kmsg ring buffer. It says which it picked and why each better one could not
be used (`Source.description`, `Source.notes`); a source that cannot be used raises
SourceUnavailable saying why.

A Source yields RawRecord(type, text, source, line, received): `type` is the audit
message type when the transport tells it (netlink always; kmsg and lines when they
carry `type=N`), `text` the record as the transport gave it (netlink: the payload
`audit(T:S): ...`; other sources: one line). `stop()` may be called from any
thread: `records()` then ends promptly.
"""
from __future__ import annotations

import errno
import os
import re
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from ...errors import ConfineError

NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1
NLMSG_HDR = struct.Struct("=IHHII")          # len, type, flags, seq, pid
NLMSG_ERROR = 2
NLMSG_DONE = 3
RCVBUF = 32 << 20                            # room for a long burst while the reader is busy
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)

KMSG = "/dev/kmsg"
AUDIT_LOG = "/var/log/audit/audit.log"
KERN_LOG = "/var/log/kern.log"
SYSLOG = "/var/log/syslog"
MESSAGES = "/var/log/messages"

POLL_SECONDS = 1.0                            # files: a re-check even if no event came
HEAD_BYTES = 256                              # files: first bytes kept to notice a truncation


class SourceUnavailable(ConfineError):
    """A source that cannot be used here; the message says why."""


@dataclass(frozen=True)
class RawRecord:
    type: int | None        # audit message type, when the transport tells it
    text: str               # netlink: "audit(T:S): ..."; otherwise one line as read
    source: str             # "netlink", "kmsg", "file:PATH", "stdin"
    line: int | None = None  # 1-based line number in a file or stdin (None when unknown)
    received: float = 0.0   # time.time() when read


_TYPE_IN_TEXT = re.compile(r"\btype=(\w+)")


def _type_of(text: str) -> int | None:
    """The audit type a line names (`type=1400` or auditd's `type=AVC`), else None."""
    m = _TYPE_IN_TEXT.search(text, 0, 200)
    if not m:
        return None
    word = m.group(1)
    if word.isdigit():
        return int(word)
    from .parser import RECORD_TYPES

    return RECORD_TYPES.get(word)


class _Waker:
    """A pipe that select() watches next to the source's fd: stop() writes to it."""

    def __init__(self):
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.stopped = False

    def wake(self) -> None:
        try:
            os.write(self.w, b"x")
        except OSError:
            pass

    def drain(self) -> None:
        try:
            while os.read(self.r, 4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass


class Source:
    """One place records come from. open() first (raises SourceUnavailable), then records()."""

    name = "?"
    lossless = True
    live = True            # can follow

    def __init__(self):
        self._waker = _Waker()
        self.notes: list[str] = []        # warnings and events worth showing (rotation, losses)
        self.lost = 0                     # records known to be lost
        self.description = self.name
        self.on_note: Callable[[str], None] | None = None
        self.follow = False
        # When set, records() yields None after this many seconds without a record, so
        # that a consumer can release what a parser holds back (a Landlock record
        # waiting for its event's SYSCALL record).
        self.idle: float | None = None
        self.opened = False
        # Called each time the source has nothing more queued and is about to wait: a
        # writer flushes its output there (batched under a burst, at once otherwise).
        self.on_wait: Callable[[], None] | None = None

    def note(self, text: str) -> None:
        self.notes.append(text)
        if self.on_note is not None:
            try:
                self.on_note(text)
            except Exception:  # a face's callback never breaks the source
                pass

    def open(self, follow: bool = True, since: float | None = None) -> "Source":
        raise NotImplementedError

    def records(self) -> Iterator[RawRecord | None]:
        raise NotImplementedError

    def stop(self) -> None:
        """End records() soon (callable from another thread)."""
        self._waker.stopped = True
        self._waker.wake()

    @property
    def stopped(self) -> bool:
        return self._waker.stopped

    def close(self) -> None:
        self._waker.close()

    def _wait(self, fd: int, timeout: float | None) -> bool | None:
        """Wait until `fd` is readable (True), a stop (False) or the timeout (None)."""
        if self._waker.stopped:
            return False
        if self.on_wait is not None:
            self.on_wait()
        try:
            ready, _, _ = select.select([fd, self._waker.r], [], [], timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            return False
        if self._waker.r in ready:
            self._waker.drain()
        if self._waker.stopped:
            return False
        if fd in ready:
            return True
        return None if not ready else False


# ---- netlink -------------------------------------------------------------------------------

class NetlinkSource(Source):
    name = "netlink"
    lossless = True

    def __init__(self):
        super().__init__()
        self.sock: socket.socket | None = None
        self.description = "netlink: the audit socket's read-log multicast group (lossless)"

    def open(self, follow: bool = True, since: float | None = None) -> "NetlinkSource":
        if not follow:
            raise SourceUnavailable("netlink: the audit socket carries only new records, no history "
                                    "(use --follow, or a file or kmsg for what was logged before)")
        self.follow = True
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_AUDIT)
        except OSError as exc:
            if exc.errno in (errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT):
                raise SourceUnavailable("netlink: the kernel has no audit support (CONFIG_AUDIT unset)") from None
            raise SourceUnavailable(f"netlink: cannot create an audit socket: {exc.strerror}") from None
        for opt in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF)
                break
            except OSError:
                continue
        try:
            sock.bind((0, AUDIT_NLGRP_READLOG))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EPERM or exc.errno == errno.EACCES:
                raise SourceUnavailable("netlink: joining the audit read-log group needs CAP_AUDIT_READ "
                                        "(run as root)") from None
            raise SourceUnavailable(f"netlink: cannot join the audit read-log group: {exc.strerror}") from None
        self.sock = sock
        self.opened = True
        return self

    def records(self) -> Iterator[RawRecord | None]:
        sock = self.sock
        if sock is None:
            raise RuntimeError("open() the source first")
        fd = sock.fileno()
        recv = sock.recv
        unpack = NLMSG_HDR.unpack_from
        while not self._waker.stopped:
            ready = self._wait(fd, self.idle)
            if ready is None:
                yield None
                continue
            if not ready:
                continue
            while True:
                try:
                    data = recv(65536, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno == errno.ENOBUFS:
                        self.lost += 1
                        self.note("netlink: the socket's receive buffer overflowed: some records were lost "
                                  "(the reader fell behind)")
                        continue
                    raise
                if len(data) < NLMSG_HDR.size:
                    continue
                now = time.time()
                _len, mtype, _flags, _seq, _pid = unpack(data)
                if mtype in (NLMSG_ERROR, NLMSG_DONE):
                    continue
                # nlmsg_len is not to be trusted for audit messages (it may exclude the
                # header): one datagram is one record, so use the datagram's length.
                payload = data[NLMSG_HDR.size:]
                end = payload.find(b"\0")
                if end >= 0:
                    payload = payload[:end]
                text = payload.decode("utf-8", "replace").rstrip("\n")
                yield RawRecord(mtype, text, "netlink", None, now)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        super().close()


# ---- /dev/kmsg ---------------------------------------------------------------------------------

def printk_limit() -> tuple[int, int]:
    """(burst, interval seconds) of the kernel's printk rate limit (10, 5 by default)."""
    def read(name: str, default: int) -> int:
        try:
            with open(f"/proc/sys/kernel/{name}") as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return default
    return read("printk_ratelimit_burst", 10), read("printk_ratelimit", 5)


_SUPPRESSED = re.compile(r"kauditd_printk_skb: (\d+) callbacks suppressed")
_AUDIT_LOST = re.compile(r"audit: audit_lost=(\d+)")


class KmsgSource(Source):
    name = "kmsg"
    lossless = False

    def __init__(self, path: str = KMSG):
        super().__init__()
        self.path = path
        self.fd: int | None = None
        burst, interval = printk_limit()
        self.warning = (f"kmsg: the kernel passes audit records to its log through the printk rate limit "
                        f"(about {burst} records per {interval} s here): bursts of denials are lost. "
                        "Run as root for the lossless audit socket (--source netlink).")
        self.description = "kmsg: the kernel log (/dev/kmsg), rate-limited"

    def open(self, follow: bool = True, since: float | None = None) -> "KmsgSource":
        self.follow = follow
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise SourceUnavailable(f"kmsg: {self.path} does not exist here") from None
        except PermissionError:
            raise SourceUnavailable(f"kmsg: {self.path} is not readable for this user "
                                    "(kernel.dmesg_restrict; run as root)") from None
        except OSError as exc:
            raise SourceUnavailable(f"kmsg: cannot open {self.path}: {exc.strerror}") from None
        if follow and since is None:
            os.lseek(fd, 0, os.SEEK_END)          # only what comes from now on
        self.fd = fd
        self.note(self.warning)
        self.opened = True
        return self

    def records(self) -> Iterator[RawRecord | None]:
        fd = self.fd
        if fd is None:
            raise RuntimeError("open() the source first")
        while not self._waker.stopped:
            try:
                chunk = os.read(fd, 16384)
            except BlockingIOError:
                if not self.follow:
                    self._summarise_losses()
                    return
                if self._wait(fd, self.idle) is None:
                    yield None
                continue
            except OSError as exc:
                if exc.errno == errno.EPIPE:        # the ring buffer overwrote records not yet read
                    self.lost += 1
                    self.note("kmsg: the kernel's ring buffer overwrote records before they were read")
                    continue
                raise
            if not chunk:
                if not self.follow:
                    self._summarise_losses()
                    return
                self._wait(fd, None)
                continue
            now = time.time()
            head, _, rest = chunk.partition(b";")
            message = rest.split(b"\n", 1)[0].decode("utf-8", "replace")
            if "audit" not in message[:40] and "type=" not in message[:40]:
                continue
            m = _SUPPRESSED.search(message)
            if m:
                n = int(m.group(1))
                self.lost += n
                if self.follow:
                    self.note(f"kmsg: the kernel's rate limit dropped {n} audit records")
                continue
            m = _AUDIT_LOST.search(message)
            if m:
                self.note(f"kmsg: the kernel reports audit records lost: {message.strip()}")
                continue
            mtype = _type_of(message)
            if mtype is None:
                continue
            yield RawRecord(mtype, message, "kmsg", None, now)

    def _summarise_losses(self) -> None:
        if self.lost:
            self.note(f"kmsg: the kernel's rate limit dropped {self.lost} audit records while this log was "
                      "written: they are not in it")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        super().close()


# ---- journal export format ---------------------------------------------------------------------

class JournalExport:
    """Incremental reader of `journalctl -o export`: entries of FIELD=value lines separated
    by a blank line; a binary field is FIELD, newline, a 64-bit little-endian length, the
    bytes, newline. Each entry becomes one line of text a parser knows:

    * kernel transport: the MESSAGE itself (`audit: type=1400 audit(T:S): ...`);
    * audit transport: `type=N msg=audit(T:S): FIELDS` rebuilt from _AUDIT_TYPE,
      _AUDIT_ID and the source timestamp (the MESSAGE starts with the type's name).
    """

    def __init__(self):
        self.buf = b""
        self.fields: dict[str, bytes] = {}
        self.entry = 0

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        """Bytes in; (entry number, line) out for each completed entry."""
        self.buf += data
        out: list[tuple[int, str]] = []
        buf = self.buf
        pos = 0
        while True:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                break
            line = buf[pos:nl]
            if not line:                        # end of an entry
                pos = nl + 1
                if self.fields:
                    self.entry += 1
                    text = self._line(self.fields)
                    if text is not None:
                        out.append((self.entry, text))
                    self.fields = {}
                continue
            eq = line.find(b"=")
            if eq >= 0:
                self.fields[line[:eq].decode("ascii", "replace")] = line[eq + 1:]
                pos = nl + 1
                continue
            # binary field: NAME\n<u64 le length><data>\n
            if len(buf) < nl + 1 + 8:
                break
            (size,) = struct.unpack_from("<Q", buf, nl + 1)
            start = nl + 1 + 8
            if len(buf) < start + size + 1:
                break
            self.fields[line.decode("ascii", "replace")] = buf[start:start + size]
            pos = start + size + 1
        self.buf = buf[pos:]
        return out

    @staticmethod
    def _line(fields: dict[str, bytes]) -> str | None:
        msg = fields.get("MESSAGE")
        if msg is None:
            return None
        text = msg.decode("utf-8", "replace").replace("\n", " ")
        atype = fields.get("_AUDIT_TYPE")
        if fields.get("_TRANSPORT") == b"audit" and atype is not None:
            serial = fields.get("_AUDIT_ID", b"0").decode("ascii", "replace")
            ts = fields.get("_SOURCE_REALTIME_TIMESTAMP") or fields.get("__REALTIME_TIMESTAMP") or b"0"
            try:
                usec = int(ts)
            except ValueError:
                usec = 0
            name = fields.get("_AUDIT_TYPE_NAME", b"").decode("ascii", "replace")
            body = text[len(name):].lstrip() if name and text.startswith(name) else text
            return (f"type={atype.decode('ascii', 'replace')} msg=audit({usec // 1000000}."
                    f"{(usec // 1000) % 1000:03d}:{serial}): {body}")
        return text


def _is_export(head: bytes) -> bool:
    return head.startswith((b"__CURSOR=", b"__REALTIME_TIMESTAMP=", b"__MONOTONIC_TIMESTAMP=", b"__SEQNUM"))


# ---- files and stdin ------------------------------------------------------------------------

class _LineReader:
    """Bytes to complete lines (split on \\n only: audit.log puts 0x1D inside a record)."""

    def __init__(self, start_line: int = 0):
        self.partial = b""
        self.line = start_line
        self.export: JournalExport | None = None
        self.checked = False

    def feed(self, data: bytes, final: bool = False) -> list[tuple[int, str]]:
        if not self.checked and (data or final):
            head = self.partial + data
            if len(head) >= 24 or final:
                self.checked = True
                if _is_export(head):
                    self.export = JournalExport()
        if self.export is not None:
            return self.export.feed(data + (b"\n\n" if final else b""))
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        out = []
        for raw in lines:
            self.line += 1
            out.append((self.line, raw.decode("utf-8", "replace").rstrip("\r")))
        return out


class _Rewake:
    """A watchdog handler that wakes the follower when its file (or its directory) changes."""

    def __new__(cls, path: str, waker: _Waker):
        from watchdog.events import FileSystemEventHandler

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                paths = {getattr(event, "src_path", ""), getattr(event, "dest_path", "")}
                if path in {os.fsdecode(p) for p in paths if p}:
                    waker.wake()

        return Handler()


class FileSource(Source):
    name = "file"
    lossless = True

    def __init__(self, path: str):
        super().__init__()
        self.path = os.path.abspath(path)
        self.name = f"file:{self.path}"
        self.description = f"file: {self.path}"
        self.fd: int | None = None
        self.observer = None
        self.since = None
        self.waiting = False
        self._start: _LineReader | None = None

    def open(self, follow: bool = True, since: float | None = None) -> "FileSource":
        self.follow, self.since = follow, since
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            if not follow:
                raise SourceUnavailable(f"{self.path} does not exist") from None
            self.waiting = True
            self.note(f"{self.path} does not exist yet: waiting for it")
        except PermissionError:
            raise SourceUnavailable(f"{self.path} is not readable for this user") from None
        except OSError as exc:
            raise SourceUnavailable(f"cannot open {self.path}: {exc.strerror}") from None
        if self.fd is not None and os.path.isdir(self.path):
            os.close(self.fd)
            self.fd = None
            raise SourceUnavailable(f"{self.path} is a directory, not a log file")
        if follow:
            self._watch()
            # where following starts is fixed now, not when records() first runs: whatever is
            # written after open() is read
            self._start = self._skip_to_end(self.fd) if self.fd is not None and since is None else None
        self.opened = True
        return self

    def _watch(self) -> None:
        try:
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            self.note("watchdog is not installed: the file is polled every second")
            return
        observer = Observer()
        observer.daemon = True
        try:
            observer.schedule(_Rewake(self.path, self._waker), os.path.dirname(self.path) or ".", recursive=False)
            observer.start()
        except OSError as exc:
            self.note(f"cannot watch {os.path.dirname(self.path)} ({exc.strerror}): the file is polled every second")
            return
        self.observer = observer

    def _read_all(self, fd: int, reader: _LineReader) -> Iterator[tuple[int, str]]:
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError as exc:
                self.note(f"{self.path}: read failed: {exc.strerror}")
                return
            if not chunk:
                return
            yield from reader.feed(chunk)

    def records(self) -> Iterator[RawRecord | None]:
        src = self.name
        if not self.follow:
            reader = _LineReader()
            fd = self.fd
            assert fd is not None
            for line, text in self._read_all(fd, reader):
                yield RawRecord(_type_of(text), text, src, line, time.time())
            for line, text in reader.feed(b"", final=True):
                yield RawRecord(_type_of(text), text, src, line, time.time())
            return
        yield from self._follow()

    def _follow(self) -> Iterator[RawRecord]:
        src = self.name
        fd = self.fd
        reader = self._start or _LineReader()
        pos = os.lseek(fd, 0, os.SEEK_CUR) if fd is not None else 0
        head = b""                               # the file's first bytes as read (truncation check)
        while not self._waker.stopped:
            if fd is None:
                try:
                    fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                    if self.waiting:
                        self.note(f"{self.path} appeared: reading it")
                        self.waiting = False
                    reader, pos, head = _LineReader(), 0, b""
                except OSError:
                    self._sleep()
                    continue
            for line, text in self._read_all(fd, reader):
                yield RawRecord(_type_of(text), text, src, line, time.time())
            pos = os.lseek(fd, 0, os.SEEK_CUR)
            try:
                st_now = os.stat(self.path)
            except FileNotFoundError:
                st_now = None
            st_fd = os.fstat(fd)
            if st_now is None or (st_now.st_ino, st_now.st_dev) != (st_fd.st_ino, st_fd.st_dev):
                # rotated: read the old file to its end (a writer may have added to it after the
                # read above), then go on with the new one
                for line, text in self._read_all(fd, reader):
                    yield RawRecord(_type_of(text), text, src, line, time.time())
                for line, text in reader.feed(b"", final=True):
                    yield RawRecord(_type_of(text), text, src, line, time.time())
                os.close(fd)
                fd = None
                self.fd = None
                if st_now is None:
                    self.note(f"{self.path} was rotated away: waiting for the new file")
                    self.waiting = True
                else:
                    self.note(f"{self.path} was rotated: reading the new file from its start")
                continue
            # truncated (copytruncate): shorter than what was read, or (when it grew again
            # before this look) its first bytes are no longer those read before
            if st_fd.st_size < pos or (head and os.pread(fd, len(head), 0) != head):
                self.note(f"{self.path} was truncated: reading it again from its start")
                os.lseek(fd, 0, os.SEEK_SET)
                reader, pos, head = _LineReader(), 0, b""
                continue
            if len(head) < HEAD_BYTES and pos > len(head):
                head = os.pread(fd, min(HEAD_BYTES, pos), 0)
            self.fd = fd
            if self._wait_event() is None and self.idle is not None:
                yield None
        if fd is not None and fd != self.fd:
            os.close(fd)

    def _skip_to_end(self, fd: int) -> _LineReader:
        """Position `fd` after the last complete line (or export entry), counting the
        lines before it so that the numbers of new lines stay true."""
        export = _is_export(os.pread(fd, 64, 0))
        sep = b"\n\n" if export else b"\n"
        count = 0
        offset = 0          # just after the last separator seen
        carry = b""
        pos = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            data = carry + chunk
            base = pos - len(carry)
            count += data.count(sep)
            last = data.rfind(sep)
            if last >= 0:
                offset = base + last + len(sep)
            carry = data[-(len(sep) - 1):] if len(sep) > 1 else b""
            if len(sep) > 1 and carry == b"\n" and data.endswith(sep):
                carry = b""
            pos += len(chunk)
        os.lseek(fd, offset, os.SEEK_SET)
        reader = _LineReader(start_line=count)
        reader.checked = True
        if export:
            reader.export = JournalExport()
            reader.export.entry = count
        return reader

    def _wait_event(self) -> bool | None:
        """Wait for watchdog's wake-up (True) or the timeout (None): the timeout re-checks
        rotation and truncation even if an event was missed."""
        if self._waker.stopped:
            return False
        if self.on_wait is not None:
            self.on_wait()
        timeout = POLL_SECONDS if self.idle is None else min(POLL_SECONDS, self.idle)
        try:
            ready, _, _ = select.select([self._waker.r], [], [], timeout)
        except InterruptedError:  # pragma: no cover
            return None
        if ready:
            self._waker.drain()
            return True
        return None

    def _sleep(self) -> None:
        self._wait_event()

    def close(self) -> None:
        if self.observer is not None:
            try:
                self.observer.stop()
                self.observer.join(timeout=2)
            except Exception:  # pragma: no cover - best effort at shutdown
                pass
            self.observer = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        super().close()


class StreamSource(Source):
    """Standard input (or any readable file descriptor), line by line until EOF."""

    name = "stdin"
    lossless = True
    live = False

    def __init__(self, fd: int = 0, name: str = "stdin"):
        super().__init__()
        self.fd = fd
        self.name = name
        self.description = f"{name}: lines read until end of input"

    def open(self, follow: bool = True, since: float | None = None) -> "StreamSource":
        try:
            os.fstat(self.fd)
        except OSError as exc:
            raise SourceUnavailable(f"{self.name}: not open ({exc.strerror})") from None
        self.opened = True
        return self

    def records(self) -> Iterator[RawRecord | None]:
        reader = _LineReader()
        while not self._waker.stopped:
            ready = self._wait(self.fd, self.idle)
            if ready is None:
                yield None
                continue
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                break
            for line, text in reader.feed(chunk):
                yield RawRecord(_type_of(text), text, self.name, line, time.time())
        for line, text in reader.feed(b"", final=True):
            yield RawRecord(_type_of(text), text, self.name, line, time.time())


class IterSource(Source):
    """Records from an iterable of lines (tests, or lines a face already holds)."""

    name = "lines"
    live = False

    def __init__(self, lines, name: str = "lines"):
        super().__init__()
        self.lines = lines
        self.name = name
        self.description = name

    def open(self, follow: bool = True, since: float | None = None) -> "IterSource":
        self.opened = True
        return self

    def records(self) -> Iterator[RawRecord | None]:
        for i, text in enumerate(self.lines, start=1):
            if self._waker.stopped:
                return
            text = text.rstrip("\n")
            yield RawRecord(_type_of(text), text, self.name, i, time.time())


# ---- choosing -------------------------------------------------------------------------------

SPECS = ("auto", "netlink", "kmsg", "stdin", "file:PATH")


def _auditd_running() -> bool:
    """Whether an audit daemon is registered (then it writes /var/log/audit/audit.log)."""
    from . import audit

    try:
        return audit.get_status().pid != 0
    except OSError:
        return os.path.exists(AUDIT_LOG) and os.path.getsize(AUDIT_LOG) > 0


def make_source(spec: str) -> Source:
    """A Source for `spec` (netlink, kmsg, stdin, -, file:PATH or a path), not opened."""
    if spec == "netlink":
        return NetlinkSource()
    if spec == "kmsg":
        return KmsgSource()
    if spec in ("stdin", "-"):
        return StreamSource(0)
    if spec.startswith("file:"):
        path = spec[5:]
        if not path:
            raise SourceUnavailable("file: name the file, as file:PATH")
        return FileSource(path)
    if spec.startswith("/") or spec.startswith("."):
        return FileSource(spec)
    raise SourceUnavailable(f"unknown source {spec!r}: use one of {', '.join(SPECS)}")


def open_source(spec: str = "auto", *, follow: bool = True, since: float | None = None,
                on_note: Callable[[str], None] | None = None) -> Source:
    """Open the source `spec`; "auto" picks the best one that works and says why (in
    `description` and `notes`). Raises SourceUnavailable with every reason."""
    if spec != "auto":
        src = make_source(spec)
        src.on_note = on_note
        src.open(follow=follow, since=since)
        return src
    if follow:
        order: list[tuple[str, Callable[[], Source]]] = [("netlink", NetlinkSource)]
        if os.path.exists(AUDIT_LOG) and _auditd_running():
            order.append(("audit log", lambda: FileSource(AUDIT_LOG)))
        order += [("kmsg", KmsgSource), ("kern.log", lambda: FileSource(KERN_LOG)),
                  ("syslog", lambda: FileSource(SYSLOG))]
    else:
        order = [("audit log", lambda: FileSource(AUDIT_LOG)), ("kern.log", lambda: FileSource(KERN_LOG)),
                 ("syslog", lambda: FileSource(SYSLOG)), ("messages", lambda: FileSource(MESSAGES)),
                 ("kmsg", KmsgSource)]
    why: list[str] = []
    for label, make in order:
        src = make()
        src.on_note = on_note
        if isinstance(src, FileSource) and not os.path.exists(src.path):
            why.append(f"{src.path} does not exist")
            src.close()
            continue
        try:
            src.open(follow=follow, since=since)
        except SourceUnavailable as exc:
            why.append(str(exc))
            src.close()
            continue
        picked = f"auto picked {src.description}"
        if why:
            picked += " (" + "; ".join(why) + ")"
        src.description = picked
        return src
    raise SourceUnavailable("no source of denial records can be used here: " + "; ".join(why))


__all__ = [
    "RawRecord", "Source", "SourceUnavailable", "NetlinkSource", "KmsgSource", "FileSource", "StreamSource",
    "IterSource", "JournalExport", "make_source", "open_source", "printk_limit", "SPECS",
]


def _main() -> None:  # pragma: no cover - a debugging aid: python -m ...sources SPEC
    import sys

    src = open_source(sys.argv[1] if len(sys.argv) > 1 else "auto", on_note=lambda n: print(n, file=sys.stderr))
    print(src.description, file=sys.stderr)
    stopper = threading.Timer(float(sys.argv[2]) if len(sys.argv) > 2 else 1e9, src.stop)
    stopper.daemon = True
    stopper.start()
    try:
        for rec in src.records():
            print(rec.type, rec.text)
    finally:
        src.close()


if __name__ == "__main__":  # pragma: no cover
    _main()
