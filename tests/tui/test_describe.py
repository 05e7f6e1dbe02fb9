"""What the console says an interface grants, read from the catalogue's data."""
from __future__ import annotations

from backends.native.interfaces.catalogue import load_catalogue
from confine_tui.describe import grant_text


def test_an_interface_that_lets_apps_mount_says_landlock_has_no_path_rules():
    catalogue = load_catalogue()
    text = grant_text(catalogue["docker-support"]).plain
    assert "Landlock: no path rules (the app may mount" in text
    assert "no path rules" not in grant_text(catalogue["camera"]).plain
