"""The state of a confine root: installed snaps, connections and grants, in one JSON file.

Writers take an exclusive lock on `state.lock` for the whole read-modify-write, so a
console and a script can work side by side without losing updates. A write goes to
a temporary file that is fsynced, renamed over `state.json`, and the directory is
fsynced, so a reader (who takes no lock) sees either the old or the new state, even
if the writer is killed at any point.

Readers that only look (the engine's listings, a console refreshing every few
seconds) use `read_shared()`: the parsed state is kept and handed out again while
the file on disk is the same one, so a 20,000-connection state is parsed once per
change instead of once per look. "The same one" is decided as git decides that an
index entry is clean: the file's identity (device, inode, size, mtime, ctime) must
match, and the file must have been settled (its ctime well before the moment it
was read) when it was cached; otherwise its bytes are read again and compared.
Another process's rename gives a new inode and ctime, so a change is never missed.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..errors import StateError
from .durable import fsync_dir

SCHEMA = 1
STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
# A file whose ctime is older than this when it is read cannot be replaced by a file
# of the same identity later (timestamps only grow): trust its identity alone.
SETTLED_NS = 2_000_000_000


def empty_state() -> dict:
    return {"schema": SCHEMA, "snaps": {}, "conns": {}, "revisions": {}}


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that no reader ever sees a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _identity(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class StateStore:
    """Reads and transactionally updates `ROOT/state.json`."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.path = self.root / STATE_FILE
        self.lock_path = self.root / LOCK_FILE
        self._shared_lock = threading.Lock()
        # (identity, settled, raw bytes, parsed state) of the last shared read
        self._shared: tuple[tuple, bool, bytes, dict] | None = None

    def read(self) -> dict:
        """The current state (no lock needed: the file is only ever replaced whole)."""
        return self._parse(self._read_raw())

    def read_shared(self) -> dict:
        """The current state, parsed once per version of the file and shared between
        callers: it must not be changed (take `read()` for a state to change)."""
        with self._shared_lock:   # one parse at a time: a second reader waits for the first
            cached = self._shared
            if cached is not None and cached[1]:
                try:
                    if _identity(os.stat(self.path)) == cached[0]:
                        return cached[3]
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise StateError(f"{self.path}: cannot read the state: {exc.strerror}") from None
            now = time.time_ns()
            try:
                with open(self.path, "rb") as fh:
                    identity = _identity(os.fstat(fh.fileno()))
                    raw = fh.read()
            except FileNotFoundError:
                self._shared = None
                return empty_state()
            except OSError as exc:
                raise StateError(f"{self.path}: cannot read the state: {exc.strerror}") from None
            settled = identity[4] < now - SETTLED_NS
            if cached is not None and cached[2] == raw:
                state = cached[3]
            else:
                state = self._parse(raw)
            self._shared = (identity, settled, raw, state)
            return state

    def _read_raw(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{self.path}: cannot read the state: {exc.strerror}") from None

    def _parse(self, raw: bytes | None) -> dict:
        if raw is None:
            return empty_state()
        try:
            state = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StateError(f"{self.path}: the state is not valid JSON ({exc}); it was not written by confine") from None
        if not isinstance(state, dict) or "schema" not in state:
            raise StateError(f"{self.path}: no schema version; it was not written by confine")
        if state["schema"] != SCHEMA:
            raise StateError(f"{self.path}: schema version {state['schema']} is not {SCHEMA}, the one this confine reads")
        return state

    def ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError as exc:
            raise StateError(f"{self.root}: cannot create the state directory: {exc.strerror}") from None

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.ensure_root()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    break
                except OSError as exc:  # EINTR from a signal: try again
                    if exc.errno != errno.EINTR:
                        raise
            yield
        finally:
            os.close(fd)  # closing drops the lock

    @contextmanager
    def transaction(self, after_write: list[Callable[[], None]] | None = None) -> Iterator[dict]:
        """Yield the state to change under the lock; it is written only if the block succeeds.

        `after_write` callables (filled in by the block) run once the new state is on
        disk, still under the lock: file clean-ups that must not race another writer.
        """
        with self.locked():
            self._drop_stale_temporaries()
            raw = self._read_raw()
            state = self._parse(raw)
            yield state
            data = self.encode(state)
            if data != raw:  # an operation that changed nothing writes nothing
                atomic_write(self.path, data)
            for fn in after_write or ():
                fn()

    def _drop_stale_temporaries(self) -> None:
        # Only a writer holding the lock makes temporary files: any seen now were left
        # by a writer that was killed.
        for stale in self.root.glob(f".{STATE_FILE}.*.tmp"):
            stale.unlink(missing_ok=True)

    @staticmethod
    def encode(state: dict) -> bytes:
        state["schema"] = SCHEMA
        return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
