"""test_build.py: the build as packagers run it.

An out-of-tree (VPATH) build of a clean copy of the sources, as Debian's pg_buildext does
(make -C BUILDDIR -f SRCDIR/Makefile VPATH=SRCDIR PG_CONFIG=...), must produce a pgmq.so that
exports pgmq's functions and the install and update scripts, and install them all; then
`make installcheck` from that build directory runs the regression and isolation suites against
the test cluster (PGHOST, PGPORT and PGUSER from test/run_all.sh). The build takes a while.
"""
import glob
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_CONFIG = shutil.which(os.environ.get("PG_CONFIG", "pg_config"))


def run(*args, **kwargs):
    """run runs a command, failing the test with its output when it fails."""
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def vpath_build():
    """vpath_build copies the sources a release would contain (git's files, without build output)
    into SRC and builds them in BUILD, under the runner's work directory; it yields (src, build)."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="vpath.", dir=os.environ.get("PGMQ_TEST_WORK")))
    src, build = top / "src", top / "build"
    files = run("git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, files):
        if os.path.isfile(os.path.join(REPO, name)):
            os.makedirs(src / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), src / name)
    build.mkdir()
    run("make", "-C", str(build), "-f", str(src / "Makefile"), f"VPATH={src}", f"PG_CONFIG={PG_CONFIG}",
        "-s", "-j2", "ERROR_ON_WARNING=1")
    yield src, build
    shutil.rmtree(top)


def test_vpath_build_exports_functions(vpath_build):
    src, build = vpath_build
    exported = set(run("nm", "-D", "--defined-only", "--format=posix", str(build / "pgmq.so")).split())
    assert {"pgmq_send", "pgmq_read", "pgmq_worker_main", "Pg_magic_func"} <= exported
    wanted = set(re.findall(r"'MODULE_PATHNAME',\s*'(\w+)'", (src / "sql" / "pgmq.sql").read_text()))
    assert wanted and wanted <= exported
    # Nothing was written into the source copy.
    assert not glob.glob(str(src / "**" / "*.o"), recursive=True)
    assert not (src / "pgmq.so").exists()


def test_vpath_build_installs_every_script(vpath_build):
    src, build = vpath_build
    dest = build / "dest"
    run("make", "-C", str(build), "-f", str(src / "Makefile"), f"VPATH={src}", f"PG_CONFIG={PG_CONFIG}",
        "-s", "install", f"DESTDIR={dest}")
    sharedir = run(PG_CONFIG, "--sharedir").strip()
    libdir = run(PG_CONFIG, "--pkglibdir").strip()
    extdir = f"{dest}{sharedir}/extension"
    installed = sorted(os.listdir(extdir))
    version = re.search(r"^default_version\s*=\s*'([^']+)'", (src / "pgmq.control").read_text(), re.M)[1]
    for script in ("pgmq.control", f"pgmq--{version}.sql", "pgmq--1.0.0.sql", f"pgmq--1.0.0--{version}.sql"):
        assert script in installed, installed
    assert os.path.isfile(f"{dest}{libdir}/pgmq.so")
    # The built update script is the delta and the replay of every function of the install script.
    update = open(f"{extdir}/pgmq--1.0.0--{version}.sql").read()
    functions = re.findall(r"^CREATE FUNCTION (pgmq\.[\w\"]+)", (src / "sql" / "pgmq.sql").read_text(), re.M)
    replayed = re.findall(r"^CREATE OR REPLACE FUNCTION (pgmq\.[\w\"]+)", update, re.M)
    assert functions and replayed == functions
    assert "PGMQ 1.5.1 or later" in update


@pytest.mark.skipif("PGPORT" not in os.environ, reason="needs the test cluster (test/run_all.sh)")
def test_installcheck(vpath_build):
    """make installcheck runs every regression test and isolation spec, from the build directory."""
    src, build = vpath_build
    out = run("make", "-C", str(build), "-f", str(src / "Makefile"), f"VPATH={src}", f"PG_CONFIG={PG_CONFIG}",
              "installcheck", env={**os.environ, "PGUSER": os.environ.get("PGUSER", "postgres")})
    regress = len(glob.glob(str(src / "sql" / "*.sql"))) - len(glob.glob(str(src / "sql" / "pgmq*.sql")))
    specs = len(glob.glob(str(src / "test" / "specs" / "*.spec")))
    assert f"All {regress} tests passed." in out, out[-2000:]
    assert f"All {specs} tests passed." in out, out[-2000:]
