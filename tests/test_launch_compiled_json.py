"""The compiled launcher's JSON reader (backends/native/launch/compiled/json.c),
against Python's json: every document Python writes reads back to the same value;
truncated documents are refused as Python refuses them; nothing crashes it.

The reader is built here with a small harness (tests/data/json_echo.c) that
writes back what it read."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "backends" / "native" / "launch" / "compiled"


@pytest.fixture(scope="module")
def echo(tmp_path_factory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the JSON reader's harness", pytrace=False)
    out = tmp_path_factory.mktemp("json") / "json_echo"
    proc = subprocess.run([gcc, "-O1", "-Wall", "-Werror", "-fsanitize=address,undefined",
                           "-fno-sanitize-recover=all", "-I", str(SOURCES),
                           "-o", str(out), str(REPO / "tests" / "data" / "json_echo.c"), str(SOURCES / "json.c")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


# the reader frees nothing by design (it reads two documents, then the launcher execs):
# leaks are not errors; any other finding of the sanitizers exits 99
SANITIZERS = {"ASAN_OPTIONS": "detect_leaks=0:exitcode=99", "UBSAN_OPTIONS": "halt_on_error=1:exitcode=99"}


def read(echo: Path, data: bytes) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(echo)], input=data, capture_output=True, timeout=30, env=SANITIZERS)
    assert proc.returncode in (0, 1), f"the reader crashed on {data!r}: {proc.returncode} {proc.stderr!r}"
    return proc


text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**17, 10**17)
    | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values, ascii_only=st.booleans(), indent=st.sampled_from([None, 2]))
def test_what_python_writes_reads_back_the_same(echo, value, ascii_only, indent):
    doc = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()
    proc = read(echo, doc)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values, cut=st.integers(0, 10_000))
def test_a_truncated_document_is_refused_as_python_refuses_it(echo, value, cut):
    doc = json.dumps(value).encode()
    part = doc[:cut % (len(doc) + 1)]
    try:
        json.loads(part)
        python_ok = True
    except ValueError:
        python_ok = False
    assert (read(echo, part).returncode == 0) == python_ok, part


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64))
def test_no_bytes_crash_it(echo, data):
    read(echo, data)


@pytest.mark.parametrize("doc", [b'"a\\u0000b"', b'"\\ud800"', b'"\\udc00x"', b'"\x01"', b"[1,]", b"{\"a\" 1}",
                                 b"01", b"1.", b"-", b"NaN", b"[" * 65 + b"]" * 65, b'{"a":1} x', b"tru"])
def test_what_it_refuses(echo, doc):
    """NUL in a string (every string becomes a path, argument or variable), lone
    surrogates, raw control characters, and what JSON does not allow; nesting
    deeper than 64."""
    assert read(echo, doc).returncode == 1


def test_surrogate_pairs_and_escapes_decode(echo):
    proc = read(echo, b'["\\ud83d\\ude00", "\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u00e9"]')
    assert json.loads(proc.stdout) == ["\U0001F600", "\"\\/\b\f\n\r\t", "\u00e9"]
