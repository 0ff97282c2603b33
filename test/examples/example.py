# apt-get install python3-psycopg, then: /usr/bin/python3 example.py
# Connects as psql does: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD or libpq's defaults.
import psycopg

with psycopg.connect("", autocommit=True) as conn:
    conn.execute("CREATE EXTENSION IF NOT EXISTS pgmq")
    conn.execute("SELECT pgmq.create('jobs')")
    conn.execute("SELECT * FROM pgmq.send('jobs', %s::jsonb)", ['{"x": 1}'])
    rows = conn.execute("SELECT msg_id, message FROM pgmq.read_with_poll('jobs', 30, 1, 5)").fetchall()
    for msg_id, message in rows:
        print("got", msg_id, message)
        conn.execute("SELECT pgmq.delete('jobs', %s::bigint)", [msg_id])
    conn.execute("SELECT pgmq.drop_queue('jobs')")
