"""Builds and runs the unit tests of the pure C++ overdue decision and timestamp arithmetic (no server
needed), with UBSan and ASan: a signed overflow or a bad access fails the test."""
import os
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_overdue_core_unit_tests():
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "overdue_test")
        subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-DPGMQ_CORE_SOURCE",
                        "-fsanitize=undefined,address", "-fno-sanitize-recover=all",
                        "-I", os.path.join(REPO, "src"), os.path.join(REPO, "test/core/overdue_test.cpp"),
                        os.path.join(REPO, "src/core/overdue.cpp"), os.path.join(REPO, "src/core/time.cpp"),
                        "-o", exe], check=True)
        result = subprocess.run([exe], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "all tests passed" in result.stdout
