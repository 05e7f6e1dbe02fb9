"""apparmor_parser compiles every generated profile; errors name profile and line; loading
happens only where the kernel has AppArmor."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from apparmor_catalogue_snaps import (block_pattern, connect_everything, contexts_of, full_catalogue_backend,
                                      quiet_backend, write_snap)
from backends.native.apparmor import compile as aacompile
from backends.native.apparmor.compile import (ParserMissing, compile_profiles, find_parser, kernel_has_apparmor,
                                              load_profiles, parse_parser_error)
from backends.native.apparmor.generate import generate
from backends.native.interfaces.catalogue import DATA_DIR, load_catalogue

try:
    find_parser()
    HAVE_PARSER = True
except ParserMissing:
    HAVE_PARSER = False
needs_parser = pytest.mark.skipif(not HAVE_PARSER, reason="apparmor_parser is not installed (Debian package apparmor)")


def write_jobs(ctxs, where: Path, prefix: str = "") -> list[tuple[str, Path, Path]]:
    jobs = []
    where.mkdir(parents=True, exist_ok=True)
    for ctx in ctxs:
        src = where / f"{prefix}{ctx.tag}"
        src.write_text(generate(ctx))
        jobs.append((ctx.tag, src, where / f"{prefix}{ctx.tag}.bin"))
    return jobs


def failures(results) -> str:
    lines = []
    for r in results:
        if not r.ok:
            e = r.error
            lines.append(f"{r.tag}: {e.section or '(no section)'}: line {e.line}: {e.message} [{(e.text or '').strip()}]")
    return "\n".join(lines)


@needs_parser
def test_every_example_profile_compiles(tmp_path):
    backend = quiet_backend(tmp_path / "root", "classic")
    backend.install_examples(grants=["docker"])
    connect_everything(backend)
    jobs = write_jobs(contexts_of(backend), tmp_path / "out")
    results = compile_profiles(jobs)
    assert [r.tag for r in results] == [j[0] for j in jobs]
    assert all(r.ok for r in results), "AppArmor profiles that do not compile:\n" + failures(results)
    for r in results:
        assert r.output.stat().st_size > 0
    # the big ones have every connection in them
    assert len(jobs) >= 10


@needs_parser
def test_every_interface_of_the_catalogue_compiles_on_classic_and_core(tmp_path):
    """Every snippet block of the catalogue, in a profile that apparmor_parser compiles."""
    ctxs = {}
    for kind in ("classic", "core"):
        backend = full_catalogue_backend(tmp_path / kind, kind)
        ctxs[kind] = contexts_of(backend)
    catalogue = backend.catalogue
    jobs = []
    for kind, cs in ctxs.items():
        jobs += write_jobs(cs, tmp_path / "out", prefix=f"{kind}.")
    results = compile_profiles(jobs)
    assert all(r.ok for r in results), "AppArmor profiles that do not compile:\n" + failures(results)

    # Coverage: each apparmor block of each interface was rendered into one of these profiles.
    missing = []
    for name, iface in catalogue.items():
        for i, block in enumerate(iface.snippets):
            if "apparmor" not in block:
                continue
            pattern = block_pattern(block["apparmor"])
            if not any(g.interface == name and g.side == block["for"] and pattern.fullmatch(text)
                       for cs in ctxs.values() for c in cs for g, text in c.bodies("apparmor")):
                missing.append(f"{name} snippet {i} ({block['for']}, when {block.get('when', {})})")
    assert not missing, "snippet blocks in no compiled profile:\n" + "\n".join(missing)
    # every interface connected on the plug side, and offered as a slot
    plugged = {g.interface for cs in ctxs.values() for c in cs for g in c.grants if g.side == "connected-plug"}
    slotted = {g.interface for cs in ctxs.values() for c in cs for g in c.grants if g.side.endswith("-slot")}
    with_plug_rules = {n for n, i in catalogue.items() if any(b["for"] == "connected-plug" for b in i.snippets)}
    with_slot_rules = {n for n, i in catalogue.items() if any(b["for"].endswith("-slot") for b in i.snippets)}
    assert with_plug_rules <= plugged
    assert with_slot_rules <= slotted


@needs_parser
def test_a_broken_catalogue_snippet_is_reported_with_tag_interface_and_message(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    kvm = data / "kvm.yaml"
    kvm.write_text(kvm.read_text().replace("/dev/kvm rw,", "/dev/kvm rw,\n      /dev/kvm-extra rwz,", 1))
    backend = full_catalogue_backend(tmp_path / "classic", "classic", load_catalogue(data))
    ctxs = [c for c in contexts_of(backend) if c.tag == "snap.allplugs.app"]
    results = compile_profiles(write_jobs(ctxs, tmp_path / "out"))
    report = failures(results)
    assert not results[0].ok
    assert report.startswith("snap.allplugs.app: interface kvm, connected-plug (allplugs:kvm to ")
    assert "syntax error" in report and "[/dev/kvm-extra rwz,]" in report


@needs_parser
def test_devmode_classic_and_hook_profiles_compile(tmp_path):
    backend = quiet_backend(tmp_path / "root", "classic")
    for text in ("name: devsnap\nversion: '1'\nconfinement: devmode\napps:\n  run:\n    command: bin/run\n"
                 "    plugs: [network, home]\n",
                 "name: classy\nversion: '1'\nconfinement: classic\napps:\n  run:\n    command: bin/run\n"
                 "    plugs: [network, home]\n",
                 "name: hooky\nversion: '1'\napps:\n  run:\n    command: bin/run\nhooks:\n  configure:\n"
                 "    plugs: [network]\n"):
        name = text.split("\n", 1)[0].split(": ")[1]
        backend.install(write_snap(tmp_path, text, name))
    connect_everything(backend)
    results = compile_profiles(write_jobs(contexts_of(backend), tmp_path / "out"))
    assert {r.tag for r in results} == {"snap.devsnap.run", "snap.classy.run", "snap.hooky.run",
                                        "snap.hooky.hook.configure"}
    assert all(r.ok for r in results), failures(results)


# ---- parser errors --------------------------------------------------------------------------

@pytest.fixture
def nettool_profile(tmp_path):
    backend = quiet_backend(tmp_path / "root", "classic")
    backend.install(backend.example_dirs()[[d.name for d in backend.example_dirs()].index("nettool")])
    connect_everything(backend)
    ctx = contexts_of(backend, ["nettool"])[0]
    return ctx.tag, generate(ctx)


def _break(text: str, after: str, bad: str) -> tuple[str, int]:
    lines = text.splitlines()
    at = next(i for i, x in enumerate(lines) if after in x) + 1
    lines.insert(at, bad)
    return "\n".join(lines) + "\n", at + 1


@needs_parser
def test_syntax_error_names_profile_line_and_interface(tmp_path, nettool_profile):
    tag, text = nettool_profile
    broken, lineno = _break(text, "# --- interface network-bind,", "  /srv/broken rz,")
    src = tmp_path / tag
    src.write_text(broken)
    out = tmp_path / "out.bin"
    out.write_bytes(b"previous")
    (res,) = compile_profiles([(tag, src, out)])
    assert not res.ok
    e = res.error
    assert e.profile == "snap.nettool.nettool" and e.tag == tag
    assert e.line == lineno
    assert e.text.strip() == "/srv/broken rz,"
    assert e.section.startswith("interface network-bind, connected-plug")
    assert "syntax error" in e.message
    assert str(e).startswith(f"profile snap.nettool.nettool, line {lineno}: ")
    assert out.read_bytes() == b"previous"          # a failed compile leaves the old binary
    assert not list(tmp_path.glob(".out.bin.*"))   # and no temporary file


@needs_parser
def test_bad_glob_is_located_in_the_source(tmp_path, nettool_profile):
    tag, text = nettool_profile
    broken, lineno = _break(text, "# --- interface network-observe,", "  /srv/a[b r,")
    src = tmp_path / tag
    src.write_text(broken)
    (res,) = compile_profiles([(tag, src, tmp_path / "out.bin")])
    assert not res.ok
    assert res.error.line == lineno and res.error.section.startswith("interface network-observe")
    assert "/srv/a[b" in res.error.message or "grouping" in res.error.message


@needs_parser
def test_undeclared_variable_points_at_its_first_use(tmp_path, nettool_profile):
    tag, text = nettool_profile
    broken, lineno = _break(text, "# --- interface network,", "  @{NOT_DEFINED}/x r,")
    src = tmp_path / tag
    src.write_text(broken)
    (res,) = compile_profiles([(tag, src, tmp_path / "out.bin")])
    assert not res.ok and res.error.line == lineno
    assert "NOT_DEFINED" in res.error.message


def test_error_in_an_included_file_names_that_file(tmp_path):
    src = tmp_path / "snap.x.y"
    src.write_text('profile "snap.x.y" {\n  #include <abstractions/nope>\n}\n')
    stderr = ("Cache read/write disabled: interface file missing.\n"
              "AppArmor parser error for snap.x.y in profile /etc/apparmor.d/abstractions/other at line 7: "
              "syntax error\n")
    e = parse_parser_error("snap.x.y", src, stderr)
    assert e.profile == "snap.x.y" and e.line == 7 and e.file == "/etc/apparmor.d/abstractions/other"
    assert e.text is None and "of /etc/apparmor.d/abstractions/other" in str(e)


def test_missing_parser_is_named_with_its_package(tmp_path, monkeypatch):
    with pytest.raises(ParserMissing):
        compile_profiles([("snap.a.b", tmp_path / "a", tmp_path / "b")], parser=tmp_path / "apparmor_parser")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(aacompile, "PARSER_DIRS", (str(tmp_path),))
    with pytest.raises(ParserMissing, match=r"apparmor_parser not found.*Debian package `apparmor`"):
        compile_profiles([("snap.a.b", tmp_path / "a", tmp_path / "b")])
    assert compile_profiles([]) == []


@needs_parser
def test_compiles_run_in_parallel(tmp_path, monkeypatch):
    """Four jobs with a parser that sleeps 0.5 s finish in well under 4 x 0.5 s."""
    real = find_parser()
    fake = tmp_path / "slow_parser"
    fake.write_text(f"#!/bin/sh\nsleep 0.5\nexec {real} \"$@\"\n")
    fake.chmod(0o755)
    src = tmp_path / "p"
    src.write_text('profile "snap.a.b" {\n  /x r,\n}\n')
    jobs = [(f"snap.a.b{i}", src, tmp_path / f"o{i}") for i in range(4)]
    start = time.monotonic()
    results = compile_profiles(jobs, parallel=4, parser=fake)
    assert all(r.ok for r in results)
    assert time.monotonic() - start < 1.6


# ---- loading ---------------------------------------------------------------------------------

def test_kernel_has_apparmor_reads_securityfs_and_the_module_parameter(tmp_path):
    fs, param = tmp_path / "apparmor", tmp_path / "enabled"
    assert kernel_has_apparmor(str(fs), str(param)) is False
    param.write_text("N\n")
    assert kernel_has_apparmor(str(fs), str(param)) is False
    param.write_text("Y\n")
    assert kernel_has_apparmor(str(fs), str(param)) is True
    param.unlink()
    fs.mkdir()
    assert kernel_has_apparmor(str(fs), str(param)) is True


@pytest.mark.skipif(kernel_has_apparmor(), reason="this kernel has AppArmor")
def test_nothing_is_loaded_on_a_kernel_without_apparmor(tmp_path, monkeypatch):
    def no_run(*a, **k):
        raise AssertionError("apparmor_parser must not run on a kernel without AppArmor")
    monkeypatch.setattr(subprocess, "run", no_run)
    paths = [str(tmp_path / "snap.a.b"), str(tmp_path / "snap.a.c")]
    report = load_profiles(paths)
    assert report.kernel_apparmor is False
    assert report.loaded == [] and report.failed == [] and report.skipped == paths
    assert "nothing loaded" in report.reason and "kernel has no AppArmor" in report.reason
    assert report.lines() == [report.reason]
    assert report.to_json()["loaded"] == []
    assert load_profiles([]).loaded == []


def test_loading_where_the_kernel_has_apparmor_runs_replace(tmp_path):
    log = tmp_path / "calls"
    fake = tmp_path / "apparmor_parser"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\ncase \"$*\" in *bad*) echo 'no such profile' >&2; exit 1;; esac\n")
    fake.chmod(0o755)
    good, bad = str(tmp_path / "snap.a.good"), str(tmp_path / "snap.a.bad")
    report = load_profiles([good, bad], has_apparmor=True, parser=fake)
    assert report.loaded == [good]
    assert report.failed == [(bad, "no such profile")]
    assert not report.ok
    assert log.read_text().splitlines() == [f"--replace {good}", f"--replace {bad}"]
    report = load_profiles([good], binary=True, has_apparmor=True, parser=fake)
    assert report.loaded == [good] and log.read_text().splitlines()[-1] == f"--replace --binary {good}"
