"""The install-time build of the compiled launcher, as a setuptools command.

pyproject.toml names this class as setuptools' `build_scripts` and the launcher
as its one script file (`build/confine-front/confine`), so that `pip install .`
and `pip install -e .` compile backends/native/launch/compiled/*.c (build.py):
  - into the package, as backends/native/launch/confine-launch, which `confine
    run` execs when it was started in Python (python -m backends.cli);
  - as the `confine` command, which takes `confine run` without starting Python
    and hands every other command to the interpreter that installed it.
Without a C compiler the install still succeeds: `confine` is then a Python
script, `confine run` uses the Python launcher alone, and `confine run
--explain` says so. Imported by setuptools at build time only.
"""
from __future__ import annotations

import os
import shutil
import sys

from distutils.command.build_scripts import build_scripts as _build_scripts


def _sibling(name: str):
    """build.py by its path: setuptools loads this module alone, not as part of the package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"confine_{name}", os.path.join(os.path.dirname(__file__),
                                                                                   f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_build = _sibling("build")
PYTHON_FRONT, compile_launcher = _build.PYTHON_FRONT, _build.compile_launcher

PACKAGE_DIR = os.path.join("backends", "native", "launch")
BINARY = "confine-launch"
FRONT = os.path.join("build", "confine-front", "confine")     # pyproject.toml's script-files


class BuildScripts(_build_scripts):
    editable_mode = False          # set by setuptools for `pip install -e`

    def run(self):
        here = os.getcwd()         # the project directory: setuptools builds from there
        build_lib = self.get_finalized_command("build_py").build_lib
        out = os.path.join(here if self.editable_mode else build_lib, PACKAGE_DIR, BINARY)
        front = os.path.join(here, FRONT)
        os.makedirs(os.path.dirname(front), exist_ok=True)
        why = compile_launcher(out, sys.executable)
        if why is not None:
            sys.stderr.write(f"confine: the C launcher was not built ({why}); `confine run` uses the Python "
                             "launcher\n")
            with open(front, "w") as f:
                f.write(PYTHON_FRONT)
            return super().run()    # the Python script, its #! line made for this interpreter
        self.mkpath(self.build_dir)
        shutil.copyfile(out, os.path.join(self.build_dir, "confine"))
        os.chmod(os.path.join(self.build_dir, "confine"), 0o755)
