"""test_readme_examples.py: the README's client examples are files in test/examples/, and run.

Every README code block preceded by a line `<!-- example: test/examples/FILE -->` must be that
file, byte for byte, and every file in test/examples/ must appear so. The psql and Python
examples run here as a user would run them (psql -f, /usr/bin/python3), connected through the
PG* environment to a fresh database; the Node one runs in the js suite (test/js/run.sh), which
has pgmq-js installed.
"""
import os
import pathlib
import re
import subprocess

import psycopg
import pytest
from psycopg import sql

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "test" / "examples"
MARKED_BLOCK = re.compile(r"^<!-- example: (\S+) -->\n```[a-z]*\n(.*?)^```$", re.M | re.S)
EXAMPLE_DB = "pgmq_examples"


def readme_examples():
    """readme_examples maps each file the README marks as an example to its code block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = {}
    for path, body in MARKED_BLOCK.findall(text):
        assert path not in blocks, f"README shows {path} twice"
        blocks[path] = body
    return blocks


def test_readme_blocks_are_the_example_files():
    blocks = readme_examples()
    files = sorted(f"test/examples/{p.name}" for p in EXAMPLES.iterdir() if p.is_file())
    assert sorted(blocks) == files, "every file in test/examples/ is shown in the README, nothing else"
    for path, body in blocks.items():
        assert body == (ROOT / path).read_text(encoding="utf-8"), f"README's block for {path} differs from the file"
    # A marker whose block did not parse (another fence, a blank line) would go unchecked.
    markers = re.findall(r"^<!-- example: (\S+) -->$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    assert sorted(markers) == sorted(blocks)


@pytest.fixture
def example_env():
    """example_env is the PG* environment of a fresh database, dropped afterwards."""
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(EXAMPLE_DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EXAMPLE_DB)))
    yield dict(os.environ, PGDATABASE=EXAMPLE_DB)
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(EXAMPLE_DB)))


def run_twice(cmd, env):
    """run_twice runs an example twice (it cleans up after itself) and returns the last output."""
    for _ in range(2):
        done = subprocess.run(cmd, env=env, cwd=EXAMPLES, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_sql_example_runs(example_env):
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    out = run_twice([f"{bindir}/psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", "example.sql"], example_env)
    assert '{"id": 1}' in out
    with psycopg.connect(dbname=EXAMPLE_DB) as conn:
        assert conn.execute("SELECT count(*) FROM pgmq.list_queues()").fetchone() == (0,)


def test_python_example_runs(example_env):
    out = run_twice(["/usr/bin/python3", "example.py"], example_env)
    assert out == "got 1 {'x': 1}\n"
