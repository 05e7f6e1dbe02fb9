"""The read-only cache of the state (StateStore.read_shared and the engine's listings):
a read of an unchanged state is free, and a change by anyone, in any process, is seen."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends.native import state as state_mod
from backends.native.engine import NativeBackend
from backends.native.state import StateStore

from sample_snaps import CAM

REPO = Path(__file__).resolve().parents[1]

OTHER = """
name: other
version: '1'
apps:
  other:
    command: bin/run
    plugs: [network]
"""


def _write_in_another_process(root: Path, key: str, value: str) -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from backends.native.state import StateStore\n"
            "with StateStore(sys.argv[2]).transaction() as s:\n"
            "    s[sys.argv[3]] = sys.argv[4]\n")
    subprocess.run([sys.executable, "-c", code, str(REPO), str(root), key, value], check=True)


def test_shared_read_is_parsed_once_and_sees_a_change_of_the_same_size(tmp_path):
    root = tmp_path / "root"
    store = StateStore(root)
    with store.transaction() as s:
        s["note"] = "aaaa"
    first = store.read_shared()
    assert store.read_shared() is first                    # unchanged: the same parse
    size = (root / "state.json").stat().st_size
    _write_in_another_process(root, "note", "bbbb")        # at once, and of the same size
    assert (root / "state.json").stat().st_size == size
    again = store.read_shared()
    assert again["note"] == "bbbb" and again is not first
    assert store.read() == again and store.read() is not again   # read() is the caller's own


def test_settled_file_trusted_by_identity_and_a_rewrite_in_place_still_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(state_mod, "SETTLED_NS", -10**12)   # every file counts as settled
    root = tmp_path / "root"
    store = StateStore(root)
    with store.transaction() as s:
        s["note"] = "aaaa"
    first = store.read_shared()
    assert store.read_shared() is first
    path = root / "state.json"
    st = path.stat()
    data = path.read_bytes().replace(b'"aaaa"', b'"cccc"')
    with open(path, "r+b") as fh:                          # same inode, same size, same mtime
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.read_shared()["note"] == "cccc"            # the ctime moved


def test_shared_read_of_a_missing_or_broken_state(tmp_path):
    root = tmp_path / "root"
    store = StateStore(root)
    assert store.read_shared()["snaps"] == {}
    root.mkdir()
    (root / "state.json").write_text("{not json")
    with pytest.raises(Exception, match="not valid JSON"):
        store.read_shared()
    (root / "state.json").unlink()
    assert store.read_shared()["conns"] == {}


def test_engine_listings_follow_changes_of_another_engine(tmp_path, make_snap):
    root = tmp_path / "root"
    console = NativeBackend(root, system_kind="classic", profiles=False)
    script = NativeBackend(root, system_kind="classic", profiles=False)
    script.install(make_snap(CAM))
    assert [s.name for s in console.snaps()] == ["cam"]
    before = console.connections(all=True)
    cands = console.candidates("cam")
    assert console.connections(all=True) == before          # memoized, equal
    before.append("mine")                                    # a caller's list is its own
    assert "mine" not in console.connections(all=True)
    script.install(make_snap(OTHER))
    assert [s.name for s in console.snaps()] == ["cam", "other"]
    assert any(r.plug == "other:network" for r in console.connections(all=True))
    network = next(c for c in console.candidates("cam") if c.plug.name == "network")
    assert network.connection is not None
    script.disconnect("cam:network")
    network = next(c for c in console.candidates("cam") if c.plug.name == "network")
    assert network.connection is not None and network.connection.undesired
    assert len(console.candidates("cam")) == len(cands)
    state = json.loads((root / "state.json").read_text())
    assert len(console.connections_state()) == len(state["conns"])
