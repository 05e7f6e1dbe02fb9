"""Kernel modules: the list from connected interfaces, the modules-load.d file, and
loading only where the kernel has loadable modules, reported module by module."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from backends.native import doctor
from backends.native.kmod import conf_text, install_modules, module_state, module_support, modules_for

from tag_contexts import contexts, examples_backend

# A module this kernel certainly has: overlay is built in here (FACTS: no /proc/modules).
PRESENT = next((m for m in ("overlay", "loop", "vt", "kernel") if os.path.isdir(f"/sys/module/{m}")), None)


class FakeRun:
    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def __call__(self, argv, **kw):
        self.calls.append(list(argv))
        bad = argv[-1] in self.fail
        return subprocess.CompletedProcess(argv, 1 if bad else 0, "",
                                           f"modprobe: FATAL: Module {argv[-1]} not found" if bad else "")


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return examples_backend(tmp_path_factory.mktemp("kmod") / "root")


def test_modules_for_examples(examples):
    assert modules_for(contexts(examples, "containerd-lite")) == ["overlay"]
    assert modules_for(contexts(examples, "hello")) == []
    # the daemon plugs docker-support; ctl does not: the snap's list is the union
    per_tag = {c.tag: modules_for([c]) for c in contexts(examples, "containerd-lite")}
    assert per_tag == {"snap.containerd-lite.ctl": [], "snap.containerd-lite.daemon": ["overlay"]}


def test_conf_text():
    assert conf_text("s", []) == ""
    text = conf_text("s", ["b", "a", "b"])
    assert text.splitlines()[1:] == ["a", "b"] and text.startswith("# ")


@pytest.mark.skipif(PRESENT is None, reason="no module in /sys/module to test with")
def test_here_a_present_module_is_reported_and_nothing_is_loaded(tmp_path):
    run = FakeRun()
    report = install_modules("dock", [PRESENT, "confine_no_such_module"], conf_dir=tmp_path, run=run)
    conf = tmp_path / "snap.dock.conf"
    assert conf.read_text().splitlines()[1:] == ["confine_no_such_module", PRESENT]
    assert report.action == "written"
    status = {m.name: m.status for m in report.modules}
    assert status[PRESENT] in ("built-in", "already-loaded")
    assert PRESENT in report.present and report.loaded == []
    supported, detail, _ = module_support()
    if supported:
        # a real modprobe would be asked for the missing one only
        assert run.calls == [[run.calls[0][0], "--syslog", "confine_no_such_module"]]
        assert status["confine_no_such_module"] == "failed"
    else:
        # this machine: no loadable modules, so modprobe never runs and the report says why
        assert run.calls == []
        assert status["confine_no_such_module"] == "unavailable"
        assert detail in str(report)
        assert "confine_no_such_module: unavailable (not built in, and this kernel has no loadable module " \
               "support" in str(report)


def test_loading_where_the_kernel_allows_it(tmp_path):
    proc_modules = tmp_path / "modules"
    proc_modules.write_text("")
    sys_module = tmp_path / "sys"
    (sys_module / "already").mkdir(parents=True)
    (sys_module / "already" / "initstate").write_text("live\n")
    (sys_module / "builtin_one").mkdir()
    run = FakeRun(fail={"broken"})
    report = install_modules("s", ["already", "builtin-one", "broken", "fresh", "listed"], conf_dir=tmp_path / "conf",
                             sys_module=sys_module, proc_modules=proc_modules, modprobe="/x/modprobe",
                             builtin={"listed"}, run=run)
    status = {m.name: (m.status, m.detail) for m in report.modules}
    assert status["already"][0] == "already-loaded"
    assert status["builtin-one"][0] == "built-in"        # - and _ are one in module names
    assert status["listed"][0] == "built-in"             # from modules.builtin
    assert status["fresh"] == ("loaded", "modprobe fresh")
    assert status["broken"] == ("failed", "modprobe: modprobe: FATAL: Module broken not found")
    assert run.calls == [["/x/modprobe", "--syslog", "broken"], ["/x/modprobe", "--syslog", "fresh"]]
    assert report.loaded == ["fresh"]


def test_no_load_writes_only(tmp_path):
    run = FakeRun()
    report = install_modules("s", ["confine_absent"], conf_dir=tmp_path, load=False, run=run,
                             sys_module=tmp_path / "none", builtin=set())
    assert run.calls == [] and report.modules[0].status == "not-loaded"


def test_missing_modprobe_is_said(tmp_path, monkeypatch):
    import backends.native.kmod as kmod

    monkeypatch.setattr(kmod, "find_modprobe", lambda: None)
    proc_modules = tmp_path / "modules"
    proc_modules.write_text("")
    report = install_modules("s", ["confine_absent"], conf_dir=tmp_path, proc_modules=proc_modules,
                             sys_module=tmp_path / "none", builtin=set(), run=FakeRun())
    assert report.modules[0].status == "unavailable" and "modprobe not found" in report.modules[0].detail


def test_unchanged_and_removed(tmp_path):
    install_modules("s", ["a"], conf_dir=tmp_path, load=False, sys_module=tmp_path / "none", builtin=set())
    assert install_modules("s", ["a"], conf_dir=tmp_path, load=False).action == "unchanged"
    report = install_modules("s", [], conf_dir=tmp_path)
    assert report.action == "removed" and not (tmp_path / "snap.s.conf").exists() and report.modules == []
    assert install_modules("s", [], conf_dir=tmp_path).action == "absent"


def test_module_state_of_this_kernel():
    if PRESENT is None:
        pytest.skip("nothing in /sys/module")
    assert module_state(PRESENT) in ("built-in", "loaded")
    assert module_state("confine_no_such_module") is None


def test_doctor_reports_module_support():
    layer = doctor.probe_layer("kernel-modules")
    supported, detail, _ = module_support()
    assert layer.available is supported and layer.detail == detail
    if not Path("/proc/modules").exists():
        assert not layer.available and "no loadable module support" in layer.detail
