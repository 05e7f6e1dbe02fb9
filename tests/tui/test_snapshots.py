"""SVG snapshots of every area of the console at 120x40 and 80x24 (pytest-textual-snapshot).

Each scene (confine_tui/screenshots.py, the same that `python -m confine_tui.screenshots`
saves into screenshots/) presses its keys, then the screen is compared with the SVG
stored under __snapshots__/. Textual is pinned (8.2.8): its releases change SVGs.
After an intended change of the console: pytest tests/tui/test_snapshots.py --snapshot-update
"""
from __future__ import annotations

import pytest
import textual

from confine_tui.screenshots import SCENES, SIZES, fresh_fixed_root, play, scene_app

pytestmark = pytest.mark.skipif(textual.__version__ != "8.2.8",
                                reason="the stored SVGs were made with Textual 8.2.8")


@pytest.fixture(scope="module")
def scene_root():
    return fresh_fixed_root()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_screen(scene, size, scene_root, snap_compare):
    app = scene_app(scene_root)
    assert snap_compare(app, run_before=lambda pilot: play(pilot, scene), terminal_size=size)
