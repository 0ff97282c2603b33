"""Builds and runs the unit tests of the pure C++ core (test/core/*_test.cpp, no server needed)
under AddressSanitizer and UndefinedBehaviorSanitizer: an out-of-bounds access, a leak, a
signed overflow or any other undefined behaviour in core code stops the test program and fails."""
import glob
import os
import subprocess
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORE_SOURCES = sorted(glob.glob(os.path.join(REPO, "src/core/*.cpp")))
UNIT_TESTS = sorted(glob.glob(os.path.join(REPO, "test/core/*_test.cpp")))
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"]


@pytest.mark.parametrize("source", UNIT_TESTS, ids=[os.path.basename(s)[:-4] for s in UNIT_TESTS])
def test_core_unit_tests(source):
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, os.path.basename(source)[:-4])
        subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-DPGMQ_CORE_SOURCE", *SANITIZE,
                        "-I", os.path.join(REPO, "src"), source, *CORE_SOURCES, "-o", exe], check=True)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        result = subprocess.run([exe], capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        assert "all tests passed" in result.stdout
        assert "runtime error" not in result.stderr, result.stderr


def test_core_unit_tests_found():
    assert {"names_test.cpp", "overdue_test.cpp"} <= {os.path.basename(s) for s in UNIT_TESTS}
