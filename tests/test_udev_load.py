"""Installing udev rules: written atomically into a rules directory, loaded only where
udevd runs, and a report that never calls loaded what was not."""
from __future__ import annotations

import subprocess

import pytest

from backends.native import doctor
from backends.native.udev.load import NOT_RUNNING, install_rules, udevd_status

RULES = ('# header\nSUBSYSTEM=="video4linux", KERNEL=="video[0-9]*", TAG+="snap_cam_cam"\n'
         'TAG=="snap_cam_cam", SUBSYSTEM!="module", SUBSYSTEM!="subsystem", RUN+="/usr/lib/confine/device-helper snap_cam_cam"\n')


class FakeRun:
    def __init__(self, fail: str | None = None):
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv, **kw):
        self.calls.append(list(argv))
        rc = 1 if self.fail and self.fail in argv else 0
        return subprocess.CompletedProcess(argv, rc, "", "boom" if rc else "")


def test_here_rules_are_written_but_not_loaded(tmp_path):
    running, detail = udevd_status()
    if running:
        pytest.skip("udevd runs on this machine")
    run = FakeRun()
    report = install_rules("cam", RULES, rules_dir=tmp_path, run=run)
    path = tmp_path / "70-snap.cam.rules"
    assert path.read_text() == RULES
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert report.action == "written" and report.ok
    assert report.loaded is False and report.triggered == []
    assert run.calls == []                                   # udevadm was never run
    text = str(report)
    assert f"udev rules of snap 'cam' ({path}): written" in text
    assert NOT_RUNNING in text
    assert report.to_json()["not-done"] == [f"reload and trigger: {NOT_RUNNING}"]
    assert not list(tmp_path.glob(".*"))                     # no temporary file left behind


def test_unchanged_rules_are_not_rewritten(tmp_path):
    install_rules("cam", RULES, rules_dir=tmp_path, udevd=False)
    before = (tmp_path / "70-snap.cam.rules").stat().st_mtime_ns
    report = install_rules("cam", RULES, rules_dir=tmp_path, udevd=False)
    assert report.action == "unchanged" and not report.loaded
    assert (tmp_path / "70-snap.cam.rules").stat().st_mtime_ns == before


def test_empty_text_removes_the_file(tmp_path):
    install_rules("cam", RULES, rules_dir=tmp_path, udevd=False)
    report = install_rules("cam", "", rules_dir=tmp_path, udevd=False)
    assert report.action == "removed" and not (tmp_path / "70-snap.cam.rules").exists()
    assert "udev not reloaded" in str(report)
    again = install_rules("cam", "", rules_dir=tmp_path, udevd=False)
    assert again.action == "absent" and again.not_done == []


def test_where_udevd_runs_rules_are_reloaded_and_subsystems_triggered(tmp_path):
    run = FakeRun()
    report = install_rules("cam", RULES, rules_dir=tmp_path, udevd=True, udevadm="/x/udevadm", run=run)
    assert run.calls == [
        ["/x/udevadm", "control", "--reload-rules"],
        ["/x/udevadm", "trigger", "--action=change", "--subsystem-match=video4linux"],
        ["/x/udevadm", "settle", "--timeout=10"],
    ]
    assert report.loaded and report.triggered == ["video4linux"] and report.not_done == []
    # removing triggers the subsystems of the old rules, so devices lose their tags
    run = FakeRun()
    report = install_rules("cam", "", rules_dir=tmp_path, udevd=True, udevadm="/x/udevadm", run=run)
    assert ["/x/udevadm", "trigger", "--action=change", "--subsystem-match=video4linux"] in run.calls


def test_a_rule_without_subsystem_triggers_all_but_input(tmp_path):
    run = FakeRun()
    text = '# h\nKERNEL=="nvidia*", TAG+="snap_g_g"\n'
    install_rules("g", text, rules_dir=tmp_path, udevd=True, udevadm="/x/udevadm", run=run)
    assert ["/x/udevadm", "trigger", "--action=change", "--subsystem-nomatch=input"] in run.calls


def test_a_failed_reload_is_not_reported_as_loaded(tmp_path):
    run = FakeRun(fail="--reload-rules")
    report = install_rules("cam", RULES, rules_dir=tmp_path, udevd=True, udevadm="/x/udevadm", run=run)
    assert report.action == "written" and not report.loaded
    assert any("reload-rules failed: boom" in n for n in report.not_done)
    assert len(run.calls) == 1


def test_missing_udevadm_is_said(tmp_path, monkeypatch):
    import backends.native.udev.load as load

    monkeypatch.setattr(load, "find_udevadm", lambda: None)
    report = install_rules("cam", RULES, rules_dir=tmp_path, udevd=True, run=FakeRun())
    assert not report.loaded and "udevadm was not found" in str(report)


def test_unwritable_directory_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    report = install_rules("cam", RULES, rules_dir=blocker / "sub", udevd=False)
    assert report.action == "failed" and not report.ok and not report.loaded


def test_bad_snap_names_are_refused(tmp_path):
    for bad in ("", "../x", ".hidden"):
        with pytest.raises(ValueError):
            install_rules(bad, RULES, rules_dir=tmp_path, udevd=False)


def test_doctor_says_rules_are_not_loaded_here():
    layer = doctor.probe_layer("udevd")
    if layer.available:
        pytest.skip("udevd runs on this machine")
    assert "udev rules are written but not loaded" in layer.detail
