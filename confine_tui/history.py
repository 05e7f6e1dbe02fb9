"""ProfileHistory: the text of each profile as this console last showed it, per root.

The Profiles area diffs a profile against the version shown before it last changed,
so that an admin who connects something (here or in a shell) sees what moved. Kept
in $XDG_CACHE_HOME/confine-tui/ (a cache: losing it loses only the diffs).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "confine-tui"


class ProfileHistory:
    def __init__(self, root: Path, directory: Path | None = None) -> None:
        digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]
        self.path = (directory or default_dir()) / f"profiles-{digest}.json"
        self._lock = threading.Lock()
        self._data: dict | None = None

    def _load(self) -> dict:
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def record(self, target: str, kind: str, text: str) -> tuple[str | None, float | None]:
        """Note that `text` is shown now; returns (the version before the last change, when it changed)."""
        key = f"{target} {kind}"
        with self._lock:
            data = self._load()
            entry = data.get(key)
            if entry is None:
                data[key] = {"text": text, "previous": None, "changed": None}
                self._save()
                return None, None
            if entry["text"] != text:
                entry["previous"], entry["text"], entry["changed"] = entry["text"], text, time.time()
                self._save()
            return entry.get("previous"), entry.get("changed")

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._data))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache: the diffs of this session stay in memory
