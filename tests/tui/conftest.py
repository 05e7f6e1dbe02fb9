"""Fixtures of the console's tests: a fixed time zone and cache, roots with the examples."""
from __future__ import annotations

import asyncio
import inspect
import os
import time
from pathlib import Path

import pytest

from .support import install_examples


@pytest.fixture(autouse=True)
def _stable_env(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("CONFINE_ROOT", raising=False)
    monkeypatch.delenv("CONFINE_HOST", raising=False)
    yield


@pytest.fixture(scope="session")
def examples_root(tmp_path_factory) -> Path:
    """A root holding the examples; read-only for the tests that share it."""
    return install_examples(tmp_path_factory.mktemp("shared") / "root")


@pytest.fixture
def root(tmp_path) -> Path:
    """A fresh root with the examples, for a test that changes it."""
    return install_examples(tmp_path / "root")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests in a fresh event loop (no asyncio plugin needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None
