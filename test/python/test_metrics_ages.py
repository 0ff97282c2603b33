"""test_metrics_ages.py: metrics() reports message ages as PGMQ's extract(epoch from ...)::int
does, errors included, for any enqueued_at plain SQL can store (found by test_fuzz's hunt)."""
import pytest
from psycopg import errors, sql


def set_enqueued_at(conn, queue, value):
    conn.execute(sql.SQL("UPDATE pgmq.{} SET enqueued_at = {} WHERE msg_id = 1").format(
        sql.Identifier("q_" + queue), sql.SQL(value)))


def test_ages_within_a_transaction(connect, queue):
    conn = connect(autocommit=False)
    conn.execute("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}', '{}']::jsonb[])", [queue])
    set_enqueued_at(conn, queue, "now() - interval '100 seconds 500 milliseconds'")
    row = conn.execute("SELECT newest_msg_age_sec, oldest_msg_age_sec FROM pgmq.metrics(%s)", [queue]).fetchone()
    assert row == (0, 101)  # rounded half away from zero, as numeric::int
    set_enqueued_at(conn, queue, "now() - interval '2147483647 seconds'")
    row = conn.execute("SELECT oldest_msg_age_sec FROM pgmq.metrics(%s)", [queue]).fetchone()
    assert row == (2147483647,)
    conn.rollback()


@pytest.mark.parametrize("enqueued_at,error", [
    ("now() - interval '2147483648 seconds'", errors.NumericValueOutOfRange),  # 22003
    ("'1900-01-01 00:00:00+00'", errors.NumericValueOutOfRange),
    ("'294276-12-31 00:00:00+00'", errors.NumericValueOutOfRange),  # a negative age below INT_MIN
    ("'4713-01-01 00:00:00+00 BC'", errors.NumericValueOutOfRange),
    ("'infinity'", errors.DatetimeFieldOverflow),  # 22008
    ("'-infinity'", errors.DatetimeFieldOverflow),
])
def test_ages_out_of_range_are_errors(conn, queue, enqueued_at, error):
    conn.execute("SELECT * FROM pgmq.send_batch(%s, ARRAY['{}', '{}']::jsonb[])", [queue])
    set_enqueued_at(conn, queue, enqueued_at)
    with pytest.raises(error):
        conn.execute("SELECT * FROM pgmq.metrics(%s)", [queue])
    # PGMQ's expression gives the same error
    with pytest.raises(error):
        conn.execute(sql.SQL("SELECT extract(epoch FROM now() - min(enqueued_at))::int, "
                             "extract(epoch FROM now() - max(enqueued_at))::int FROM pgmq.{}").format(
                                 sql.Identifier("q_" + queue)))
