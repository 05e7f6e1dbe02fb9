"""snap-seccomp from Debian's snapd 2.57.6, the reference our allow filters must equal.

Found at $CONFINE_SNAP_SECCOMP, else in the cache directory
($CONFINE_TEST_CACHE or /var/cache/confine-tests)/snapd/usr/lib/snapd/snap-seccomp.
When absent it is fetched there: `apt-get download snapd` and `dpkg -x` (snapd is
never installed; `apt-get update` runs first if the download fails). If it still
cannot be had, the tests that need it fail and say why: they never skip.

Usable outside pytest too (the benchmarks): `find_snap_seccomp()`.
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

WANTED_VERSION = "2.57.6"


class OracleUnavailable(RuntimeError):
    pass


def cache_dir() -> Path:
    """$CONFINE_TEST_CACHE/snapd, else /var/cache/confine-tests/snapd, else (when that
    is neither filled nor writable, e.g. not root) the user's cache directory."""
    env = os.environ.get("CONFINE_TEST_CACHE")
    if env:
        return Path(env) / "snapd"
    system = Path("/var/cache/confine-tests")
    if os.access(_binary_in(system / "snapd"), os.X_OK) or os.access(system if system.exists() else system.parent,
                                                                       os.W_OK):
        return system / "snapd"
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return user / "confine-tests" / "snapd"


def _binary_in(root: Path) -> Path:
    return root / "usr" / "lib" / "snapd" / "snap-seccomp"


def _run(cmd: list[str], cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def _fetch(dest: Path) -> Path:
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise OracleUnavailable(f"{tool} is not available to fetch Debian's snapd package")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snapd-deb-") as work:
        os.chmod(work, 0o755)  # apt's sandbox user must be able to write here
        got = _run(["apt-get", "download", "snapd"], work)
        if got.returncode != 0:
            update = _run(["apt-get", "update"], work)
            got = _run(["apt-get", "download", "snapd"], work)
            if got.returncode != 0:
                raise OracleUnavailable("`apt-get download snapd` failed (after apt-get update: "
                                        f"{update.returncode}): {got.stderr.strip()[-500:]}")
        debs = glob.glob(os.path.join(work, "snapd_*.deb"))
        if not debs:
            raise OracleUnavailable("apt-get download snapd left no snapd_*.deb")
        tmp = Path(tempfile.mkdtemp(prefix=".snapd-", dir=dest.parent))
        try:
            x = _run(["dpkg", "-x", debs[0], str(tmp)], work)
            if x.returncode != 0:
                raise OracleUnavailable(f"dpkg -x {debs[0]} failed: {x.stderr.strip()[-500:]}")
            if dest.exists():
                shutil.rmtree(dest)
            os.rename(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _binary_in(dest)


def find_snap_seccomp() -> Path:
    """The path of snap-seccomp 2.57.6, fetching it into the cache if needed."""
    env = os.environ.get("CONFINE_SNAP_SECCOMP")
    if env:
        path = Path(env)
        if not os.access(path, os.X_OK):
            raise OracleUnavailable(f"$CONFINE_SNAP_SECCOMP={env} is not an executable file")
        return path
    path = _binary_in(cache_dir())
    if not os.access(path, os.X_OK):
        path = _fetch(cache_dir())
        if not os.access(path, os.X_OK):
            raise OracleUnavailable(f"Debian's snapd package holds no {path.relative_to(cache_dir())}")
    return path


def check_version(path: Path) -> str:
    out = subprocess.run([str(path), "version-info"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


class SnapSeccomp:
    """Runs the reference compiler on texts."""

    def __init__(self, path: Path, workdir: Path):
        self.path = path
        self.workdir = workdir
        self._ids = itertools.count(1)

    def compile(self, text: str) -> bytes:
        """The bytes snap-seccomp writes for `text`; AssertionError with its message if it refuses."""
        ok, out = self.try_compile(text)
        assert ok, f"snap-seccomp refused {text!r}: {out}"
        return out

    def try_compile(self, text: str) -> tuple[bool, bytes | str]:
        n = next(self._ids)
        src = self.workdir / f"in{n}.src"
        dst = self.workdir / f"out{n}.bin"
        src.write_text(text)
        proc = subprocess.run([str(self.path), "compile", str(src), str(dst)], capture_output=True, text=True,
                              timeout=60)
        if proc.returncode != 0:
            return False, (proc.stderr or proc.stdout).strip()
        data = dst.read_bytes()
        src.unlink()
        dst.unlink()
        return True, data

    def compile_many(self, texts: list[str]) -> list[bytes]:
        """Many texts at once: a few snap-seccomp processes side by side."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            return list(pool.map(self.compile, texts))


@pytest.fixture(scope="session")
def snap_seccomp_path() -> Path:
    try:
        path = find_snap_seccomp()
    except OracleUnavailable as exc:
        pytest.fail(f"the snap-seccomp oracle cannot be had: {exc}", pytrace=False)
    version = check_version(path)
    assert version, f"{path} version-info printed nothing"
    return path


@pytest.fixture(scope="session")
def snap_seccomp(snap_seccomp_path: Path, tmp_path_factory) -> SnapSeccomp:
    return SnapSeccomp(snap_seccomp_path, tmp_path_factory.mktemp("snap-seccomp"))
