"""End to end: the real `confine-tui` in tmux, driven by keys, checked with `confine connections --json`."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")


def tmux(*args: str, check: bool = True) -> str:
    return subprocess.run([TMUX, *args], capture_output=True, text=True, check=check, timeout=30).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_screen(session: str, predicate, timeout: float = 20.0, what: str = "") -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if predicate(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


def connections(root: Path) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "connections", "notes",
                          "--json"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_toggle_a_connection_in_the_real_console(root, tmp_path):
    script = Path(sys.executable).with_name("confine-tui")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "confine_tui"]
    command += ["--root", str(root), "--no-live-denials"]
    session = f"confine-tui-e2e-{uuid.uuid4().hex[:8]}"
    env = f"XDG_CACHE_HOME={shlex.quote(str(tmp_path / 'cache'))} TERM=xterm-256color"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(REPO),
         f"env {env} {shlex.join(command)}; sleep 30")
    try:
        wait_screen(session, lambda s: "webbrowser" in s and "Snaps" in s, what="the snap list")
        before = {r["plug"]: r for r in connections(root)}
        assert before["notes:removable-media"]["slot"] is None
        tmux("send-keys", "-t", session, "/")
        wait_screen(session, lambda s: "q Quit" not in s, what="the search box focused")  # q types there now
        tmux("send-keys", "-t", session, "-l", "notes")
        wait_screen(session, lambda s: "container-client" not in s, what="the search to narrow the list")
        tmux("send-keys", "-t", session, "Enter")         # to the list
        wait_screen(session, lambda s: "removable-media" in s, what="the plugs of notes")
        time.sleep(0.5)                                   # the rows are ready to take the focus
        tmux("send-keys", "-t", session, "Enter")         # to the first switch (home)
        wait_screen(session, lambda s: "p Preview diff" in s, what="a switch focused")
        tmux("send-keys", "-t", session, "Tab")           # to the removable-media switch
        time.sleep(0.3)
        tmux("send-keys", "-t", session, "Space")
        text = wait_screen(session, lambda s: "manual" in s, what="the note 'manual'")
        assert "removable-media" in text
        after = {r["plug"]: r for r in connections(root)}
        assert after["notes:removable-media"]["slot"] == ":removable-media"
        assert after["notes:removable-media"]["manual"] is True
        assert after["notes:home"] == before["notes:home"]      # the other switch did not move
        tmux("send-keys", "-t", session, "q")
        wait_screen(session, lambda s: "Snaps" not in s, timeout=10, what="the console to quit")
    finally:
        tmux("kill-session", "-t", session, check=False)
