"""test_ledger_check.py: the crash tests' checker really finds each kind of violation.

workload.check() is what the crash and failover tests rely on; here it is fed a ledger and
tables that break every rule once, and must report each breach (and nothing for a clean one).
"""
import datetime
import json

import workload


def _send(conn, queue, uid):
    """_send stores a message with this uid and returns its msg_id."""
    return conn.execute("SELECT * FROM pgmq.send(%s, %s::jsonb)", [queue, json.dumps({"uid": uid})]).fetchone()[0]


def test_check_reports_every_violation(server, queue_name):
    """Lost, duplicated, invented, doubly acknowledged and doubly read messages are all reported; a clean
    ledger gives no report."""
    ledger = workload.Ledger()
    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    second = datetime.timedelta(seconds=1)
    with server.connect() as conn:
        conn.execute("SELECT pgmq.create(%s)", [queue_name])
        ledger.attempted.update(f"p0-{i}" for i in range(9))
        ledger.acked["p0-0"] = _send(conn, queue_name, "p0-0")  # fine on its own
        ledger.acked["p0-1"] = 999999  # acked, never stored: lost
        ledger.acked["p0-2"] = _send(conn, queue_name, "p0-2")
        _send(conn, queue_name, "p0-2")  # stored twice
        _send(conn, queue_name, "ghost")  # never sent by a producer
        _send(conn, queue_name, "victim")  # from a killed transaction
        ledger.acked["p0-3"] = 1000
        ledger.deleted["p0-3"] += ["consumer 0", "consumer 1"]  # deleted twice
        ledger.acked["p0-4"] = _send(conn, queue_name, "p0-4")
        ledger.deleted["p0-4"].append("consumer 0")  # delete committed, row still there
        ledger.acked["p0-5"] = 1001
        ledger.archived["p0-5"].append("consumer 1")  # archive committed, not in the archive
        ledger.acked["p0-7"] = ledger.acked["p0-0"]  # one msg_id handed to two sends
        ledger.deleted["p0-7"].append("consumer 0")
        ledger.ack_missed.append(("consumer 0", "p0-6", "delete"))
        ledger.reads["p0-0"] += [("consumer 0", 1, 1, t0, t0 + 30 * second),
                                 ("consumer 1", 1, 2, t0 + 10 * second, t0 + 40 * second)]
        problems = workload.check(ledger, conn, queue_name, absent=["victim"])

        # A clean ledger on another queue: a message read twice, one vt after the other, then archived.
        clean_queue = queue_name + "_clean"
        conn.execute("SELECT pgmq.create(%s)", [clean_queue])
        clean = workload.Ledger()
        clean.attempted.update(["p1-0", "p1-1"])
        clean.acked["p1-0"] = _send(conn, clean_queue, "p1-0")
        clean.acked["p1-1"] = _send(conn, clean_queue, "p1-1")
        conn.execute("SELECT pgmq.archive(%s, %s::bigint)", [clean_queue, clean.acked["p1-1"]])
        clean.archived["p1-1"].append("consumer 0")
        clean.reads["p1-1"] += [("consumer 0", 1, 1, t0, t0 + second), ("consumer 1", 1, 2, t0 + second, t0 + 2 * second)]
        assert workload.check(clean, conn, clean_queue) == []
    text = "\n".join(problems)
    expected = ["uid p0-1 acked as msg_id 999999 but lost",
                "uid p0-2 stored 2 times",
                "uid ghost stored but never sent",
                "uid victim from a transaction killed before commit survived",
                "uid p0-3 acknowledged twice",
                "uid p0-4 deleted (committed) but still stored",
                "uid p0-5 archived (committed) but not in the archive table",
                "consumer 0: delete of uid p0-6, read within its vt, found no message",
                "uid p0-0 read by consumer 1",
                f"msg_id {ledger.acked['p0-0']} returned by the sends of ['p0-0', 'p0-7']"]
    for phrase in expected:
        assert phrase in text, f"check() missed: {phrase}\nit reported:\n{text}"
    assert "p0-8" not in text
