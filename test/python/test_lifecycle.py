"""test_lifecycle.py: long-lived driver connections while queues come and go.

A connection that has used a queue (and so holds its prepared plans) keeps working when
another connection drops and re-creates the queue, changes it from unlogged to logged,
or adds a column to its table; after a drop it gets the clean unknown-queue error.
"""
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb


def exercise(conn, q):
    """exercise runs every message operation once on q and returns what a fresh queue should give."""
    (m1,) = conn.execute("SELECT * FROM pgmq.send(%s, %s)", [q, Jsonb({"x": 1})]).fetchone()
    (m2,) = conn.execute("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}'::jsonb])", [q]).fetchone()
    read = [r[0] for r in conn.execute("SELECT * FROM pgmq.read(%s, 0, 5)", [q])]
    cond = [r[0] for r in conn.execute("SELECT * FROM pgmq.read(%s, 0, 5, '{\"x\": 1}')", [q])]
    vt = [r[0] for r in conn.execute("SELECT * FROM pgmq.set_vt(%s, %s, 0)", [q, m1])]
    archived = conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [q, m1]).fetchone()[0]
    deleted = conn.execute("SELECT pgmq.delete(%s, %s::bigint)", [q, m2]).fetchone()[0]
    popped = conn.execute("SELECT * FROM pgmq.pop(%s)", [q]).fetchall()
    metrics = conn.execute("SELECT queue_length, total_messages FROM pgmq.metrics(%s)", [q]).fetchone()
    polled = conn.execute("SELECT * FROM pgmq.read_with_poll(%s, 0, 5, 0)", [q]).fetchall()
    archive_rows = conn.execute(f"SELECT count(*) FROM pgmq.a_{q}").fetchone()[0]
    return {
        "read": read == [m1, m2], "cond": cond == [m1], "vt": vt == [m1], "archived": archived, "deleted": deleted,
        "popped": popped, "metrics": metrics[0], "polled": polled, "archive_rows": archive_rows,
    }


EXPECTED = {"read": True, "cond": True, "vt": True, "archived": True, "deleted": True, "popped": [], "metrics": 0,
            "polled": [], "archive_rows": 1}


def test_queue_recreated_by_another_connection(connect):
    user, admin = connect(), connect()
    q = "pyq_recreated"
    try:
        for _ in range(2):
            admin.execute("SELECT pgmq.create(%s)", [q])
            assert exercise(user, q) == EXPECTED
            admin.execute("SELECT pgmq.drop_queue(%s)", [q])
            admin.execute("SELECT pgmq.create(%s)", [q])
            assert exercise(user, q) == EXPECTED
            admin.execute("SELECT pgmq.drop_queue(%s)", [q])
            with pytest.raises(errors.UndefinedTable, match=f'queue "{q}" does not exist'):
                user.execute("SELECT * FROM pgmq.send(%s, '{}')", [q])
            with pytest.raises(errors.UndefinedTable):
                user.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [q])
        admin.execute("SELECT pgmq.create_unlogged(%s)", [q])
        assert exercise(user, q) == EXPECTED
        admin.execute("SELECT pgmq.drop_queue(%s)", [q])
        admin.execute("SELECT pgmq.create(%s)", [q])
        assert exercise(user, q) == EXPECTED
        assert user.execute("SELECT is_unlogged FROM pgmq.list_queues() WHERE queue_name = %s", [q]).fetchone() \
            == (False,)
    finally:
        admin.execute("SELECT pgmq.drop_queue(%s)", [q])


def test_user_added_column(connect, queue):
    user, admin = connect(), connect()
    assert exercise(user, queue) == EXPECTED
    admin.execute(f"ALTER TABLE pgmq.q_{queue} ADD COLUMN note text")
    expected = dict(EXPECTED, archive_rows=2)
    assert exercise(user, queue) == expected
    cur = user.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue])
    assert len(cur.description) == 7


def test_same_queue_many_connections_in_turn(connect, queue):
    """Plans are per connection: 10 connections each send and read once."""
    ids = []
    for _ in range(10):
        c = connect()
        ids.append(c.execute("SELECT * FROM pgmq.send(%s, '{}')", [queue]).fetchone()[0])
        c.close()
    got = []
    for _ in range(10):
        c = connect()
        got += [r[0] for r in c.execute("SELECT * FROM pgmq.read(%s, 30, 1)", [queue])]
        c.close()
    assert got == ids
