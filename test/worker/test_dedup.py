"""test_dedup.py: the background worker (interval 100 ms) forgets deduplication ids sent longer ago than the
queue's dedup_seconds, by itself (no run_maintenance), also on a queue whose policy has nothing else; ids
still inside the window stay and still deduplicate; a forgotten id is a new message when sent again."""
from conftest import wait_for

SEND = "SELECT * FROM pgmq.send('dedup_w', '{}', jsonb_build_object('x-pgmq-dedup-id', %s::text))"


def remembered(conn):
    return [r[0] for r in conn.execute("SELECT dedup_id FROM pgmq.dedup WHERE queue_name = 'dedup_w' "
                                       "ORDER BY dedup_id COLLATE \"C\"").fetchall()]


def test_worker_forgets_expired_dedup_ids(conn):
    conn.execute("SELECT pgmq.drop_queue('dedup_w') FROM pgmq.meta WHERE queue_name = 'dedup_w'")
    conn.execute("SELECT pgmq.create('dedup_w')")
    conn.execute("SELECT pgmq.set_policy('dedup_w', dedup_seconds => 3600)")
    first = {i: conn.execute(SEND, [f"id{i}"]).fetchone()[0] for i in range(3)}
    assert remembered(conn) == ["id0", "id1", "id2"]
    # Sent two hours ago, as far as the window is concerned.
    conn.execute("UPDATE pgmq.dedup SET sent_at = sent_at - interval '2 hours' "
                 "WHERE queue_name = 'dedup_w' AND dedup_id IN ('id0', 'id1')")
    wait_for(lambda: remembered(conn) == ["id2"], 30, what="the worker forgetting the expired ids")
    # Inside the window: still a duplicate; forgotten: a new message.
    assert conn.execute(SEND, ["id2"]).fetchone()[0] == first[2]
    again = conn.execute(SEND, ["id0"]).fetchone()[0]
    assert again > max(first.values())
    assert conn.execute("SELECT count(*) FROM pgmq.q_dedup_w").fetchone()[0] == 4
    assert remembered(conn) == ["id0", "id2"]
    conn.execute("SELECT pgmq.drop_queue('dedup_w')")
    assert remembered(conn) == []
