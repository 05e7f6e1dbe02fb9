"""Build steps for the compiled launcher (everything else is in pyproject.toml).

`pip install .` and `pip install -e .` compile backends/native/launch/compiled/*.c
(see backends/native/launch/build.py):
  - into the package, as backends/native/launch/confine-launch, which `confine
    run` execs when it was started in Python (python -m backends.cli, the API);
  - as the `confine` command itself: it takes `confine run` without starting
    Python and hands every other command to the interpreter that installed it.
Without a C compiler the install still succeeds: `confine` is then a Python
script, `confine run` uses the Python launcher alone, and `confine run
--explain` says so.
"""
import os
import shutil
import sys

from distutils.command.build_scripts import build_scripts as _build_scripts
from setuptools import Command, setup
from setuptools.command.build import build

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from backends.native.launch.build import PYTHON_FRONT, compile_launcher, sources  # noqa: E402

PACKAGE_DIR = os.path.join("backends", "native", "launch")
BINARY = "confine-launch"
FRONT = os.path.join("build", "confine-front", "confine")      # the `confine` command, made by build_launcher


class build_launcher(Command):
    description = "compile the C launcher (confine-launch, and the `confine` command)"
    user_options = []
    editable_mode = False          # set by setuptools for `pip install -e`

    def initialize_options(self):
        self.build_lib = None

    def finalize_options(self):
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def run(self):
        out = os.path.join(HERE if self.editable_mode else self.build_lib, PACKAGE_DIR, BINARY)
        front = os.path.join(HERE, FRONT)
        os.makedirs(os.path.dirname(front), exist_ok=True)
        why = compile_launcher(out, sys.executable)
        if why is None:
            shutil.copyfile(out, front)
            os.chmod(front, 0o755)
            return
        sys.stderr.write(f"confine: the C launcher was not built ({why}); `confine run` uses the Python launcher\n")
        with open(front, "w") as f:
            f.write(PYTHON_FRONT)

    def get_outputs(self):
        return [os.path.join(self.build_lib, PACKAGE_DIR, BINARY)] if self.build_lib else []

    def get_source_files(self):
        return [os.path.relpath(s, HERE) for s in sources()]

    def get_output_mapping(self):
        return {}


class build_scripts(_build_scripts):
    """The `confine` command: the compiled front copied as it is (distutils would
    read it as text), or the Python script with its #! line made by distutils."""

    def run(self):
        self.run_command("build_launcher")
        with open(os.path.join(HERE, FRONT), "rb") as f:
            compiled = f.read(4) == b"\x7fELF"
        if not compiled:
            return super().run()
        self.mkpath(self.build_dir)
        out = os.path.join(self.build_dir, "confine")
        shutil.copyfile(os.path.join(HERE, FRONT), out)
        os.chmod(out, 0o755)


build.sub_commands.append(("build_launcher", None))
setup(cmdclass={"build_launcher": build_launcher, "build_scripts": build_scripts}, scripts=[FRONT])
