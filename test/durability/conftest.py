"""conftest.py: fixtures for the durability suite (crash, restart, failover on private clusters).

Run by `bash test/run_all.sh durability`, which exports PGMQ_BIN (the private installation
with pgmq) and PGMQ_TEST_WORK (a temporary directory). Clusters come from test/pylib/pgcluster.py and
are destroyed in finalizers, also when a test fails.
"""
import itertools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))

import pytest

import pgcluster

_queue_numbers = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _destroy_clusters():
    """_destroy_clusters stops and kills every cluster the session made, whatever happened."""
    yield
    pgcluster.destroy_all()


@pytest.fixture(scope="session")
def server():
    """server is one private cluster with pgmq, shared by the crash and restart tests.

    Tests crash and restart it but leave it running when they pass."""
    cluster = pgcluster.new_primary("single")
    yield cluster
    cluster.destroy()


@pytest.fixture
def queue_name():
    """queue_name is a fresh queue name for one test."""
    return f"dq_{next(_queue_numbers)}"

