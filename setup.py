"""Build step for the compiled launcher (everything else is in pyproject.toml).

`pip install .` and `pip install -e .` compile backends/native/launch/compiled/*.c
into the executable backends/native/launch/confine-launch, the fast path of
`confine run` (see launcher.h). Without a C compiler the install still succeeds:
`confine run` then uses the Python launcher alone, and `confine run --explain`
says so.
"""
import os
import shutil
import subprocess
import sys

from setuptools import Command, setup
from setuptools.command.build import build

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join("backends", "native", "launch")
SOURCES = os.path.join(PACKAGE_DIR, "compiled")
BINARY = "confine-launch"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-format-truncation", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong",
          "-fPIE", "-pie", "-Wl,-z,relro,-z,now"]


class build_launcher(Command):
    description = "compile the C launcher (confine-launch)"
    user_options = []
    editable_mode = False          # set by setuptools for `pip install -e`

    def initialize_options(self):
        self.build_lib = None

    def finalize_options(self):
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def run(self):
        out_dir = os.path.join(HERE if self.editable_mode else self.build_lib, PACKAGE_DIR)
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, BINARY)
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not cc:
            sys.stderr.write("confine: no C compiler: confine-launch not built; `confine run` uses the Python "
                             "launcher (install gcc and reinstall for the fast path)\n")
            return
        sources = sorted(os.path.join(HERE, SOURCES, f) for f in os.listdir(os.path.join(HERE, SOURCES))
                         if f.endswith(".c"))
        tmp = out + ".tmp"
        cmd = [cc, *CFLAGS, "-o", tmp, *sources]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(f"confine: compiling confine-launch failed; `confine run` uses the Python launcher:\n"
                             f"{' '.join(cmd)}\n{proc.stderr}")
            return
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)

    def get_outputs(self):
        return [os.path.join(self.build_lib, PACKAGE_DIR, BINARY)] if self.build_lib else []

    def get_source_files(self):
        return [os.path.join(SOURCES, f) for f in sorted(os.listdir(os.path.join(HERE, SOURCES)))]

    def get_output_mapping(self):
        return {}


build.sub_commands.append(("build_launcher", None))
setup(cmdclass={"build_launcher": build_launcher})
