"""Shared fixtures: an engine over a fresh root, and small snap directories."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from backends.native.engine import NativeBackend


def write_snap(base: Path, yaml_text: str, dirname: str | None = None) -> Path:
    """Write a snap directory holding meta/snap.yaml and a trivial bin/run; return it."""
    text = textwrap.dedent(yaml_text).lstrip()
    name = dirname or next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("name:"))
    d = base / f"src-{name}"
    (d / "meta").mkdir(parents=True, exist_ok=True)
    (d / "meta" / "snap.yaml").write_text(text)
    (d / "bin").mkdir(exist_ok=True)
    run = d / "bin" / "run"
    run.write_text("#!/bin/sh\necho ran\n")
    run.chmod(0o755)
    return d


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def engine(root: Path) -> NativeBackend:
    return NativeBackend(root, system_kind="classic")


@pytest.fixture
def make_snap(tmp_path: Path):
    def make(yaml_text: str, dirname: str | None = None) -> Path:
        return write_snap(tmp_path, yaml_text, dirname)
    return make
