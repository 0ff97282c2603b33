"""Builds and runs the unit tests of the pure C++ overdue decision (no server needed)."""
import os
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_overdue_core_unit_tests():
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "overdue_test")
        subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-DPGMQ_CORE_SOURCE",
                        "-I", os.path.join(REPO, "src"), os.path.join(REPO, "test/core/overdue_test.cpp"),
                        os.path.join(REPO, "src/core/overdue.cpp"), "-o", exe], check=True)
        result = subprocess.run([exe], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "all tests passed" in result.stdout
