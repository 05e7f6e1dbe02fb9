"""DenialsAdapter: the console's door to the denials API (backends.native.denials.feed).

A thread iterates the engine's live feed (`follow`) and stores each Denial; screens
read what is new with `since(seq)` on a timer and write it in batches, so that a
thousand records a second never reach the UI one by one. Tests (and a paste of log
lines) go through `feed()` and `feed_lines()`, the same path as live records.
Silenced denials (the engine's denial_silences) are kept but not shown or counted.
"""
from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Iterable


class DenialsAdapter:
    def __init__(self, root: str | Path, source: str = "auto", live: bool = True, limit: int = 50_000) -> None:
        self.root = Path(root)
        self.source = source
        self.live = live
        self.limit = limit
        self._lock = threading.Lock()
        self._records: list = []
        self._base = 0                     # sequence number of _records[0]
        self.counts: Counter = Counter()   # per snap: denials seen (not silenced)
        self.version = 0                   # grows with every change of records or silences
        self.silenced: dict[str, list[str]] = {}
        self.status = "not started"
        self.notes: list[str] = []
        self.running = False
        self._feed = None
        self._thread: threading.Thread | None = None
        self._error = ""

    # ---- the engine's API, if this build has it -------------------------------------

    @staticmethod
    def available() -> tuple[bool, str]:
        try:
            from backends.native.denials import feed  # noqa: F401
            from backends.native.silences import denial_key  # noqa: F401
        except ImportError as exc:
            return False, f"This build of confine has no denials API ({exc.name or exc}): the stream is unavailable."
        return True, ""

    def key(self, denial) -> str:
        from backends.native.silences import denial_key

        return denial_key(denial)

    # ---- live feed --------------------------------------------------------------------

    def start(self, backend=None) -> None:
        """Follow the live source in a thread (once). Failures land in `status`."""
        if self._thread is not None or not self.live:
            if not self.live:
                self.status = "live source off"
            return
        ok, why = self.available()
        if not ok:
            self.status = why
            return
        self.load_silences(backend)
        self._thread = threading.Thread(target=self._run, args=(backend,), name="confine-tui denials", daemon=True)
        self._thread.start()

    def _run(self, backend) -> None:
        from backends.native.denials.feed import follow

        try:
            feed = follow(self.root, self.source, backend=backend, on_note=self._note)
            self._feed = feed
            self.status = "opening the audit source..."
            feed.start()
            self.status = feed.description or "following"
            self.running = True
            batch: list = []
            for d in feed:
                self.feed([d])
        except Exception as exc:  # noqa: BLE001 - SourceUnavailable and friends: shown on the screen
            self.status = f"no live denials: {exc}"
        finally:
            self.running = False
            if self._feed is not None:
                try:
                    self._feed.close()
                except Exception:  # noqa: BLE001
                    pass

    def _note(self, text: str) -> None:
        with self._lock:
            self.notes.append(text)
            self.version += 1

    def stop(self) -> None:
        feed = self._feed
        if feed is not None:
            try:
                feed.stop()
            except Exception:  # noqa: BLE001
                pass

    # ---- records ----------------------------------------------------------------------

    def feed(self, denials: Iterable) -> None:
        """Add denials (from the live thread, a test, or parsed lines)."""
        denials = list(denials)
        if not denials:
            return
        with self._lock:
            self._records.extend(denials)
            for d in denials:
                if d.snap and not self._is_silenced(d):
                    self.counts[d.snap] += 1
            extra = len(self._records) - self.limit
            if extra > 0:
                for d in self._records[:extra]:
                    if d.snap and not self._is_silenced(d):
                        self.counts[d.snap] -= 1
                del self._records[:extra]
                self._base += extra
            self.version += 1

    def feed_lines(self, lines: Iterable[str], backend=None) -> list:
        """Parse log lines with the engine (explained, with suggestions) and add them."""
        from backends.native.denials.feed import parse_lines

        denials = list(parse_lines(list(lines), self.root, backend=backend, include_all=False))
        self.feed(denials)
        return denials

    def since(self, seq: int) -> tuple[list, int]:
        """Records added after sequence number `seq`, and the next number to ask from."""
        with self._lock:
            start = max(0, seq - self._base)
            return self._records[start:], self._base + len(self._records)

    def all(self) -> list:
        with self._lock:
            return list(self._records)

    # ---- silences ----------------------------------------------------------------------

    def _is_silenced(self, d) -> bool:
        keys = self.silenced.get(d.snap or "")
        return bool(keys) and self.key(d) in keys

    def is_silenced(self, d) -> bool:
        return self._is_silenced(d)

    def load_silences(self, backend) -> None:
        if backend is None:
            return
        try:
            silenced = backend.denial_silences()
        except Exception:  # noqa: BLE001 - an unreadable file silences nothing
            silenced = {}
        with self._lock:
            self.silenced = silenced
            self.counts = Counter(d.snap for d in self._records if d.snap and not self._is_silenced(d))
            self.version += 1
