"""Compile AppArmor profiles with apparmor_parser, and load them where the kernel allows.

Compiling (`apparmor_parser -Q -T -o OUT SRC`) works on any machine with the
parser installed, whether or not the kernel has AppArmor. Loading
(`apparmor_parser --replace`) runs only where the kernel has AppArmor; elsewhere
the report says, by name, that nothing was loaded and why.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ...errors import ConfineError
from .generate import SECTION_MARK

PARSER_NAME = "apparmor_parser"
PARSER_DIRS = ("/sbin", "/usr/sbin", "/usr/local/sbin")
DEBIAN_PACKAGE = "apparmor"
TIMEOUT = 300

# apparmor_parser 3.0: "AppArmor parser error for FILE in profile FILE2 at line N: MESSAGE"
# (FILE2 is the file the line is in: the profile source, or an included file).
_ERROR_AT = re.compile(r"AppArmor parser error for (?P<file>.+?) in profile (?P<where>.+?) at line "
                       r"(?P<line>\d+): (?P<msg>.*)")
_ERROR_NOLINE = re.compile(r"AppArmor parser error(?: for (?P<file>.+?))?(?: in profile (?P<where>.+?))?: (?P<msg>.*)")
_UNPARSED = re.compile(r"Unable to parse input line '(?P<text>.*)'")
_PROFILE_LINE = re.compile(r'^\s*profile\s+"?(?P<name>[^"\s]+)"?')
_HARMLESS = ("Cache read/write disabled", "Warning: unable to find a suitable fs in /proc/mounts")


class ParserMissing(ConfineError):
    """apparmor_parser is not installed."""


def find_parser(parser: str | os.PathLike | None = None) -> str:
    """The apparmor_parser to run; ParserMissing names the package when there is none."""
    if parser is not None:
        if os.access(parser, os.X_OK):
            return str(parser)
        raise ParserMissing(f"{parser}: not an executable apparmor_parser")
    path = shutil.which(PARSER_NAME)
    if path is None:
        for d in PARSER_DIRS:
            cand = os.path.join(d, PARSER_NAME)
            if os.access(cand, os.X_OK):
                path = cand
                break
    if path is None:
        raise ParserMissing(f"{PARSER_NAME} not found: AppArmor profiles cannot be compiled. Install the "
                            f"Debian package `{DEBIAN_PACKAGE}` (apt-get install {DEBIAN_PACKAGE}).")
    return path


@dataclass(frozen=True)
class ParserError:
    """Where and why apparmor_parser refused a profile."""

    tag: str
    profile: str                 # the profile name in the source
    source: str                  # the file compiled
    message: str                 # the parser's words
    line: int | None = None      # line in `file` (None when the parser gave none)
    file: str | None = None      # the file the line is in (the source, or an included file)
    text: str | None = None      # that line of the source
    section: str | None = None   # the source section the line falls in ("interface home, connected-plug (...)")

    def __str__(self) -> str:
        where = f"profile {self.profile}"
        if self.line is not None:
            in_file = "" if self.file in (None, self.source) else f" of {self.file}"
            where += f", line {self.line}{in_file}"
        out = f"{where}: {self.message}"
        if self.section:
            out += f" [in {self.section}]"
        if self.text:
            out += f" [{self.text.strip()}]"
        return out


@dataclass(frozen=True)
class CompileResult:
    tag: str
    source: Path
    output: Path
    ok: bool
    seconds: float = 0.0
    error: ParserError | None = None
    warnings: tuple[str, ...] = ()


def _profile_name(lines: list[str], fallback: str) -> str:
    for line in lines:
        m = _PROFILE_LINE.match(line)
        if m:
            return m.group("name")
    return fallback


def _section_of(lines: list[str], lineno: int) -> str | None:
    for i in range(min(lineno, len(lines)) - 1, -1, -1):
        s = lines[i].strip()
        if s.startswith(SECTION_MARK):
            return s[len(SECTION_MARK):]
    return None


def parse_parser_error(tag: str, source: Path, stderr: str) -> ParserError:
    """Map apparmor_parser's complaint to the profile, file, line and source text."""
    try:
        lines = source.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    profile = _profile_name(lines, tag)
    complaints = [x.strip() for x in stderr.splitlines() if x.strip() and not x.strip().startswith(_HARMLESS)]
    for c in complaints:
        m = _ERROR_AT.search(c)
        if m:
            lineno = int(m.group("line"))
            where = m.group("where")
            in_source = os.path.basename(where) == os.path.basename(str(source)) or where == str(source)
            text = lines[lineno - 1] if in_source and 0 < lineno <= len(lines) else None
            return ParserError(tag, profile, str(source), m.group("msg"), lineno,
                               str(source) if in_source else where, text,
                               _section_of(lines, lineno) if in_source else None)
    for c in complaints:
        m = _UNPARSED.search(c)
        if m:  # regex errors name the rule, not the line: find it in the source
            wanted = " ".join(m.group("text").split())
            message = "; ".join(x.removeprefix("apparmor_parser: ") for x in complaints
                                if not x.startswith("ERROR processing"))
            for i, line in enumerate(lines, 1):
                if wanted and wanted in " ".join(line.split()):
                    return ParserError(tag, profile, str(source), message, i, str(source), line,
                                       _section_of(lines, i))
            return ParserError(tag, profile, str(source), message)
    for c in complaints:
        m = _ERROR_NOLINE.search(c)
        if m:
            return ParserError(tag, profile, str(source), m.group("msg"))
    message = "; ".join(complaints) or "apparmor_parser failed without a message"
    # "Found reference to variable X, but is never declared": point at the first use.
    m = re.search(r"reference to variable (\S+?),", message)
    if m:
        for i, line in enumerate(lines, 1):
            if "@{" + m.group(1) + "}" in line:
                return ParserError(tag, profile, str(source), message, i, str(source), line, _section_of(lines, i))
    return ParserError(tag, profile, str(source), message)


def _compile_one(parser: str, tag: str, source: Path, output: Path) -> CompileResult:
    start = time.monotonic()
    tmp = output.with_name(f".{output.name}.{os.getpid()}.{id(source)}.tmp")
    try:
        proc = subprocess.run([parser, "-Q", "-T", "-o", str(tmp), str(source)], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        tmp.unlink(missing_ok=True)
        err = ParserError(tag, tag, str(source), f"apparmor_parser did not finish within {TIMEOUT} s")
        return CompileResult(tag, source, output, False, time.monotonic() - start, err)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        err = ParserError(tag, tag, str(source), f"cannot run {parser}: {exc.strerror or exc}")
        return CompileResult(tag, source, output, False, time.monotonic() - start, err)
    elapsed = time.monotonic() - start
    warnings = tuple(x.strip() for x in proc.stderr.splitlines()
                     if x.strip() and not x.strip().startswith(_HARMLESS))
    if proc.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        stderr = proc.stderr
        if proc.returncode == 0:
            stderr += "\napparmor_parser wrote no output"
        return CompileResult(tag, source, output, False, elapsed, parse_parser_error(tag, source, stderr), warnings)
    os.replace(tmp, output)
    return CompileResult(tag, source, output, True, elapsed, None, warnings)


def compile_profiles(jobs: list[tuple[str, Path, Path]], parallel: int | None = None,
                     parser: str | os.PathLike | None = None) -> list[CompileResult]:
    """Compile each (tag, source, output) with `apparmor_parser -Q -T -o`, in parallel.

    Results come back in the order of `jobs`. An output is replaced only when its
    compile succeeded (written to a temporary name, then renamed), so a failure
    leaves the previous binary in place. Raises ParserMissing when there is no
    apparmor_parser.
    """
    if not jobs:
        return []
    exe = find_parser(parser)
    workers = max(1, min(parallel or (os.cpu_count() or 1), len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apparmor-compile") as pool:
        futures = [pool.submit(_compile_one, exe, tag, Path(src), Path(out)) for tag, src, out in jobs]
        return [f.result() for f in futures]


# ---- loading ------------------------------------------------------------------------

APPARMOR_SECURITYFS = "/sys/kernel/security/apparmor"
APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"


def kernel_has_apparmor(securityfs: str = APPARMOR_SECURITYFS, enabled: str = APPARMOR_ENABLED) -> bool:
    """True when the running kernel has AppArmor enabled."""
    if os.path.isdir(securityfs):
        return True
    try:
        with open(enabled) as fh:
            return fh.read().strip() == "Y"
    except OSError:
        return False


@dataclass
class LoadReport:
    """What load_profiles did: every path is in exactly one of loaded, failed, skipped."""

    kernel_apparmor: bool
    loaded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)   # (path, parser message)
    skipped: list[str] = field(default_factory=list)
    reason: str | None = None        # why everything was skipped

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        out = []
        if self.reason:
            out.append(self.reason)
        out += [f"AppArmor: loaded {p}" for p in self.loaded]
        out += [f"AppArmor: failed to load {p}: {msg}" for p, msg in self.failed]
        return out

    def to_json(self) -> dict:
        return {"kernel-apparmor": self.kernel_apparmor, "loaded": self.loaded,
                "failed": [{"path": p, "error": m} for p, m in self.failed], "skipped": self.skipped,
                "reason": self.reason}


def load_profiles(paths: Iterable[str | os.PathLike], binary: bool = False, *,
                  parser: str | os.PathLike | None = None, has_apparmor: bool | None = None) -> LoadReport:
    """Load (replace) profiles into the kernel with `apparmor_parser --replace`.

    `paths` are profile sources, or compiled outputs with `binary=True`. Where the
    kernel has no AppArmor nothing is run, and the report says so by name.
    """
    paths = [str(p) for p in paths]
    present = kernel_has_apparmor() if has_apparmor is None else has_apparmor
    report = LoadReport(kernel_apparmor=present)
    if not paths:
        return report
    if not present:
        report.skipped = paths
        report.reason = (f"AppArmor: nothing loaded ({len(paths)} profile(s) compiled only): the kernel has no "
                         f"AppArmor ({APPARMOR_SECURITYFS} is absent and {APPARMOR_ENABLED} is not Y)")
        return report
    try:
        exe = find_parser(parser)
    except ParserMissing as exc:
        report.skipped = paths
        report.reason = f"AppArmor: nothing loaded: {exc}"
        return report
    for p in paths:
        cmd = [exe, "--replace"] + (["--binary"] if binary else []) + [p]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        except (OSError, subprocess.SubprocessError) as exc:
            report.failed.append((p, str(exc)))
            continue
        if proc.returncode == 0:
            report.loaded.append(p)
        else:
            msg = "; ".join(x.strip() for x in proc.stderr.splitlines()
                            if x.strip() and not x.strip().startswith(_HARMLESS))
            report.failed.append((p, msg or f"apparmor_parser exited with {proc.returncode}"))
    return report
