"""StateWatcher: call back when ROOT/state.json is replaced, by anyone.

The engine replaces the state atomically (a temporary file renamed over it), so the
watch is on the directory and reacts to a create, move or modification whose path is
state.json. Events are coalesced: the callback runs at most every 50 ms. When the
directory cannot be watched (it does not exist yet and cannot be made, or inotify is
exhausted) a one-second poll of the file's identity does the job instead.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

STATE = "state.json"


class StateWatcher:
    def __init__(self, root: Path, callback: Callable[[], None], interval: float = 0.05) -> None:
        self.root = Path(root)
        self.callback = callback
        self.interval = interval
        self._observer = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._pending = threading.Event()
        self._flusher: threading.Thread | None = None
        self.mode = "none"

    def start(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            watcher = self

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event) -> None:
                    paths = (getattr(event, "src_path", ""), getattr(event, "dest_path", ""))
                    if any(p and os.path.basename(os.fsdecode(p)) == STATE for p in paths):
                        watcher._pending.set()

            observer = Observer()
            observer.daemon = True
            observer.schedule(Handler(), str(self.root), recursive=False)
            observer.start()
            self._observer = observer
            self.mode = "watchdog"
        except Exception:  # noqa: BLE001 - fall back to polling, said in `mode`
            self._poller = threading.Thread(target=self._poll, name="confine-tui state poll", daemon=True)
            self._poller.start()
            self.mode = "poll"
        self._flusher = threading.Thread(target=self._flush, name="confine-tui state events", daemon=True)
        self._flusher.start()

    def _flush(self) -> None:
        while not self._stop.is_set():
            if self._pending.wait(0.5):
                time.sleep(self.interval)   # let a burst of events settle into one callback
                self._pending.clear()
                if not self._stop.is_set():
                    self.callback()

    def _identity(self):
        try:
            st = os.stat(self.root / STATE)
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            return None

    def _poll(self) -> None:
        last = self._identity()
        while not self._stop.wait(1.0):
            now = self._identity()
            if now != last:
                last = now
                self._pending.set()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
