"""test_dockerfile.py: the Dockerfile's structure, checked statically (no Docker engine in CI).

The build stage installs its packages with the README's script before it copies the sources
(so source edits reuse the package layer), pins the server headers to the image's server
version, and builds and installs as the README says; the final stage preloads pgmq in the
configuration initdb copies (postgresql.conf.sample), not only on the command line, so
`docker run image -c x=y` keeps it. The README, test/lib.sh and the Dockerfile name the same
build packages, and the pinning in test/lib.sh installs what it says (apt-get stubbed).
"""
import json
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def instructions():
    """instructions is the Dockerfile as (stage index, INSTRUCTION, arguments), continuations joined."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out, stage = [], -1
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, args = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, " ".join(args.split())))
    return out


def stage(n):
    return [(w, a) for s, w, a in instructions() if s == n]


def build_packages():
    """build_packages lists what pgmq_install_deps installs for "build" (test/lib.sh)."""
    body = (ROOT / "test" / "lib.sh").read_text().split("pgmq_install_deps() {", 1)[1]
    body = body.split('if [ "${1:-}" != build ]', 1)[0]
    return sorted(set(re.findall(r"dpkg(?:-query -W -f='\$\{Version\}'| -s) ([a-z0-9+.-]+)", body)))


def test_two_stages_on_the_official_image():
    froms = [a for _, w, a in instructions() if w == "FROM"]
    assert len(froms) == 2
    assert re.fullmatch(r"postgres:15-bookworm AS build", froms[0])
    assert froms[1] == "postgres:15-bookworm"


def test_packages_are_installed_before_the_sources_are_copied():
    build = stage(0)
    copies = [i for i, (w, _) in enumerate(build) if w == "COPY"]
    assert build[copies[0]][1] == "test/lib.sh test/install_deps.sh test/", "first COPY: the dependency script only"
    assert build[copies[1]][1] == ". .", "then the whole tree"
    deps = [i for i, (w, a) in enumerate(build) if w == "RUN" and "bash test/install_deps.sh build" in a]
    assert len(deps) == 1 and copies[0] < deps[0] < copies[1]
    assert len(copies) == 2


def test_server_headers_pinned_to_the_image_server_version():
    run = next(a for w, a in stage(0) if w == "RUN" and "install_deps.sh" in a)
    assert 'PGMQ_PG_VERSION="$PG_VERSION" bash test/install_deps.sh build' in run
    assert 'test "$PG_MAJOR" = 15' in run
    lib = (ROOT / "test" / "lib.sh").read_text()
    assert 'need+=("postgresql-server-dev-15=$PGMQ_PG_VERSION")' in lib


def test_build_stage_builds_as_the_readme_says():
    build = stage(0)
    full_copy = build.index(("COPY", ". ."))
    after_copy = build[full_copy + 1:]
    run = " && ".join(a for w, a in after_copy if w == "RUN")
    steps = [s.strip() for s in run.split("&&")]
    assert "make -j2" in steps and "make install DESTDIR=/out" in steps
    readme = (ROOT / "README.md").read_text()
    assert "make && sudo make install" in readme and "bash test/install_deps.sh build" in readme


def test_preload_in_the_configuration_not_only_on_the_command_line():
    final = stage(1)
    assert ("COPY", "--from=build /out/ /") in final
    run = " ".join(a for w, a in final if w == "RUN")
    assert "echo \"shared_preload_libraries = 'pgmq'\" >> /usr/share/postgresql/postgresql.conf.sample" in run
    assert "CREATE EXTENSION IF NOT EXISTS pgmq;" in run and "/docker-entrypoint-initdb.d/" in run
    cmd = [a for w, a in final if w == "CMD"]
    assert len(cmd) == 1 and json.loads(cmd[0]) == ["postgres"]
    assert not [a for w, a in final if w == "ENTRYPOINT"], "keep the official entrypoint"


def test_dockerignore_keeps_what_the_build_needs():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("test", "sql", "src", "Makefile", "pgmq.control"):
        assert needed not in ignored and needed + "/" not in ignored


def test_readme_lists_the_build_packages_of_the_install_script():
    packages = build_packages()
    assert packages == ["g++", "libboost-dev", "make", "postgresql-15", "postgresql-server-dev-15"]
    readme = (ROOT / "README.md").read_text()
    line = next(l for l in readme.splitlines() if l.startswith("sudo apt-get install "))
    listed = line.split("#")[0].split()[3:]
    assert sorted(listed + ["postgresql-15"]) == packages


def test_pinned_install_asks_apt_for_that_version(tmp_path):
    """Runs pgmq_install_deps build with PGMQ_PG_VERSION against stubbed dpkg and apt-get."""
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "apt.log"
    scripts = {
        "dpkg": "exit 0",  # everything else is installed
        "dpkg-query": "echo 15.1-1",  # the headers are another version
        "apt-get": f'echo "$@" >> {log}',
        "sudo": '"$@"',
        "pg_config": "echo /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk",
    }
    for name, body in scripts.items():
        (stub / name).write_text("#!/bin/sh\n" + body + "\n")
        (stub / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{stub}:{os.environ['PATH']}", PGMQ_PG_VERSION="15.99-1.pgdg120+1")
    subprocess.run(["bash", "-c", "source test/lib.sh && pgmq_install_deps build"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    calls = log.read_text().splitlines()
    assert calls[-1].endswith("install -y -qq postgresql-server-dev-15=15.99-1.pgdg120+1"), calls
    # The version already installed: nothing to do.
    log.unlink()
    env["PGMQ_PG_VERSION"] = "15.1-1"
    subprocess.run(["bash", "-c", "source test/lib.sh && pgmq_install_deps build"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    assert not log.exists()
