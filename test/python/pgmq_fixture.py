"""pgmq_fixture.py: the database state PGMQ 1.5.1 ... 1.13.1 leaves, written here from PGMQ's documented
schema (/work/shared/PGMQ-API.md, sections 0 and 2), without PGMQ's code.

install_script(version) is an extension script "pgmq--<version>.sql": PGMQ's tables, types, grants and
config-dump settings of that version, and its functions with their signatures but stand-in bodies
(the update to pgmq replaces them all). create_queue() makes a queue's tables as that version's
pgmq.create does (PGMQ before 1.6 also made them extension members); populate() fills a database
with queues in every state the update must keep.
"""
from psycopg import sql

# The PGMQ versions the update converts (one schema state each; see the Makefile's PGMQ_VERSIONS).
VERSIONS = ["1.5.1", "1.6.0", "1.6.1", "1.7.0", "1.8.0", "1.8.1", "1.9.0", "1.10.0", "1.10.1",
            "1.11.0", "1.11.1", "1.12.0", "1.13.0", "1.13.1"]


def v(text):
    """v is a version as a comparable tuple."""
    return tuple(int(p) for p in text.split("."))


MR = "SETOF pgmq.message_record"
# (name, identity arguments with defaults, result, since, removed in): PGMQ's functions (API §1).
FUNCTIONS = [
    ("create", "queue_name text", "void", "1.0.0", None),
    ("create_non_partitioned", "queue_name text", "void", "1.0.0", None),
    ("create_unlogged", "queue_name text", "void", "1.0.0", None),
    ("create_partitioned", "queue_name text, partition_interval text DEFAULT '10000', "
     "retention_interval text DEFAULT '100000'", "void", "1.0.0", "1.13.0"),
    ("create_partitioned", "queue_name text, partition_interval text DEFAULT '10000', "
     "retention_interval text DEFAULT '100000', premake integer DEFAULT 4", "void", "1.13.0", None),
    ("convert_archive_partitioned", "table_name text, partition_interval text DEFAULT '10000', "
     "retention_interval text DEFAULT '100000', leading_partition integer DEFAULT 10", "void", "1.4.0", None),
    ("drop_queue", "queue_name text", "boolean", "1.0.0", None),
    ("drop_queue", "queue_name text, partitioned boolean", "boolean", "1.5.0", None),
    ("purge_queue", "queue_name text", "bigint", "1.0.0", None),
    ("detach_archive", "queue_name text", "void", "1.0.0", None),
    ("list_queues", "", "SETOF pgmq.queue_record", "1.0.0", None),
    ("metrics", "queue_name text", "pgmq.metrics_result", "1.0.0", None),
    ("metrics_all", "", "SETOF pgmq.metrics_result", "1.0.0", None),
    ("validate_queue_name", "queue_name text", "void", "1.0.0", None),
    ("format_table_name", "queue_name text, prefix text", "text", "1.4.1", None),
    ("acquire_queue_lock", "queue_name text", "void", "1.6.0", None),
    ("create_fifo_index", "queue_name text", "void", "1.9.0", None),
    ("create_fifo_indexes_all", "", "void", "1.9.0", None),
    ("send", "queue_name text, msg jsonb", "SETOF bigint", "1.0.0", None),
    ("send", "queue_name text, msg jsonb, headers jsonb", "SETOF bigint", "1.5.0", None),
    ("send", "queue_name text, msg jsonb, delay integer", "SETOF bigint", "1.0.0", None),
    ("send", "queue_name text, msg jsonb, delay timestamp with time zone", "SETOF bigint", "1.5.0", None),
    ("send", "queue_name text, msg jsonb, headers jsonb, delay integer", "SETOF bigint", "1.5.0", None),
    ("send", "queue_name text, msg jsonb, headers jsonb, delay timestamp with time zone", "SETOF bigint",
     "1.5.0", None),
    ("send_batch", "queue_name text, msgs jsonb[]", "SETOF bigint", "1.0.0", None),
    ("send_batch", "queue_name text, msgs jsonb[], headers jsonb[]", "SETOF bigint", "1.5.0", None),
    ("send_batch", "queue_name text, msgs jsonb[], delay integer", "SETOF bigint", "1.0.0", None),
    ("send_batch", "queue_name text, msgs jsonb[], delay timestamp with time zone", "SETOF bigint", "1.5.0", None),
    ("send_batch", "queue_name text, msgs jsonb[], headers jsonb[], delay integer", "SETOF bigint", "1.5.0", None),
    ("send_batch", "queue_name text, msgs jsonb[], headers jsonb[], delay timestamp with time zone",
     "SETOF bigint", "1.5.0", None),
    ("_validate_batch_params", "msgs jsonb[], headers jsonb[]", "void", "1.11.0", None),
    ("_send_batch", "queue_name text, msgs jsonb[], headers jsonb[], delay timestamp with time zone",
     "SETOF bigint", "1.11.0", None),
    ("read", "queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}'", MR, "1.5.0", None),
    ("read_with_poll", "queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5, "
     "poll_interval_ms integer DEFAULT 100, conditional jsonb DEFAULT '{}'", MR, "1.5.0", None),
    ("pop", "queue_name text", MR, "1.0.0", "1.7.0"),
    ("pop", "queue_name text, qty integer DEFAULT 1", MR, "1.7.0", None),
    ("read_grouped", "queue_name text, vt integer, qty integer", MR, "1.9.0", None),
    ("read_grouped_with_poll", "queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5, "
     "poll_interval_ms integer DEFAULT 100", MR, "1.9.0", None),
    ("read_grouped_rr", "queue_name text, vt integer, qty integer", MR, "1.9.0", None),
    ("read_grouped_rr_with_poll", "queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5, "
     "poll_interval_ms integer DEFAULT 100", MR, "1.9.0", None),
    ("read_grouped_head", "queue_name text, vt integer, qty integer", MR, "1.11.1", None),
    ("read_grouped_head_with_poll", "queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5, "
     "poll_interval_ms integer DEFAULT 100", MR, "1.12.0", None),
    ("delete", "queue_name text, msg_id bigint", "boolean", "1.0.0", None),
    ("delete", "queue_name text, msg_ids bigint[]", "SETOF bigint", "1.0.0", None),
    ("archive", "queue_name text, msg_id bigint", "boolean", "1.0.0", None),
    ("archive", "queue_name text, msg_ids bigint[]", "SETOF bigint", "1.0.0", None),
    ("set_vt", "queue_name text, msg_id bigint, vt integer", MR, "1.0.0", None),
    ("set_vt", "queue_name text, msg_id bigint, vt timestamp with time zone", MR, "1.10.0", None),
    ("set_vt", "queue_name text, msg_ids bigint[], vt integer", MR, "1.8.0", None),
    ("set_vt", "queue_name text, msg_ids bigint[], vt timestamp with time zone", MR, "1.10.0", None),
    ("enable_notify_insert", "queue_name text", "void", "1.7.0", "1.8.0"),
    ("enable_notify_insert", "queue_name text, throttle_interval_ms integer DEFAULT 250", "void", "1.8.0", None),
    ("disable_notify_insert", "queue_name text", "void", "1.7.0", None),
    ("list_notify_insert_throttles", "",
     "TABLE(queue_name text, throttle_interval_ms integer, last_notified_at timestamp with time zone)",
     "1.11.0", None),
    ("update_notify_insert", "queue_name text, throttle_interval_ms integer", "void", "1.11.0", None),
    ("notify_queue_listeners", "", "trigger", "1.7.0", None),
    ("validate_routing_key", "routing_key text", "boolean", "1.11.0", None),
    ("validate_topic_pattern", "pattern text", "boolean", "1.11.0", None),
    ("bind_topic", "pattern text, queue_name text", "void", "1.11.0", None),
    ("unbind_topic", "pattern text, queue_name text", "boolean", "1.11.0", None),
    ("test_routing", "routing_key text", "TABLE(pattern text, queue_name text, compiled_regex text)", "1.11.0",
     None),
    ("list_topic_bindings", "", "TABLE(pattern text, queue_name text, bound_at timestamp with time zone, "
     "compiled_regex text)", "1.11.0", None),
    ("list_topic_bindings", "queue_name text", "TABLE(pattern text, queue_name text, bound_at timestamp with "
     "time zone, compiled_regex text)", "1.11.0", None),
    ("send_topic", "routing_key text, msg jsonb", "integer", "1.11.0", None),
    ("send_topic", "routing_key text, msg jsonb, delay integer", "integer", "1.11.0", None),
    ("send_topic", "routing_key text, msg jsonb, headers jsonb, delay integer", "integer", "1.11.0", None),
    ("send_batch_topic", "routing_key text, msgs jsonb[]", "TABLE(queue_name text, msg_id bigint)", "1.11.0",
     None),
    ("send_batch_topic", "routing_key text, msgs jsonb[], headers jsonb[], delay timestamp with time zone",
     "TABLE(queue_name text, msg_id bigint)", "1.11.0", None),
    ("_belongs_to_pgmq", "table_name text", "boolean", "1.0.0", None),
    ("_get_partition_col", "partition_interval text", "text", "1.0.0", None),
    ("_extension_exists", "extension_name text", "boolean", "1.0.0", None),
    ("_ensure_pg_partman_installed", "", "void", "1.0.0", None),
    ("_get_pg_partman_major_version", "", "integer", "1.4.2", None),
    ("_get_pg_partman_schema", "", "text", "1.4.3", None),
    ("_create_fifo_index_if_not_exists", "queue_name text", "void", "1.9.0", None),
]

TOPIC_REGEX = (r"""'^' || replace(replace(regexp_replace(pattern, '([.+?{}()|\[\]\\^$])', '\\\1', 'g'), """
               r"""'*', '[^.]+'), '#', '.*') || '$'""")


def functions(version):
    """functions lists the (name, args, result) of the functions PGMQ `version` has."""
    return [(n, a, r) for n, a, r, since, until in FUNCTIONS
            if v(since) <= v(version) and (until is None or v(version) < v(until))]


def install_script(version):
    """install_script is the extension script pgmq--<version>.sql of the fixture."""
    last_read_at = "    last_read_at timestamp with time zone,\n" if v(version) >= v("1.10.0") else ""
    partition_length = ",\n    default_partition_length bigint" if v(version) >= v("1.13.0") else ""
    out = [f"-- fixture: the schema state of PGMQ {version} (stand-in function bodies)\n",
           """CREATE TABLE pgmq.meta (
    queue_name varchar UNIQUE NOT NULL,
    is_partitioned boolean NOT NULL,
    is_unlogged boolean NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
GRANT USAGE ON SCHEMA pgmq TO pg_monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA pgmq TO pg_monitor;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA pgmq TO pg_monitor;
ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq GRANT SELECT ON TABLES TO pg_monitor;
ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq GRANT SELECT ON SEQUENCES TO pg_monitor;
""",
           f"""CREATE TYPE pgmq.message_record AS (
    msg_id bigint,
    read_ct integer,
    enqueued_at timestamp with time zone,
{last_read_at}    vt timestamp with time zone,
    message jsonb,
    headers jsonb
);
CREATE TYPE pgmq.queue_record AS (
    queue_name varchar,
    is_partitioned boolean,
    is_unlogged boolean,
    created_at timestamp with time zone
);
CREATE TYPE pgmq.metrics_result AS (
    queue_name text,
    queue_length bigint,
    newest_msg_age_sec integer,
    oldest_msg_age_sec integer,
    total_messages bigint,
    scrape_time timestamp with time zone,
    queue_visible_length bigint{partition_length}
);
"""]
    if v(version) >= v("1.6.0"):
        out.append("SELECT pg_catalog.pg_extension_config_dump('pgmq.meta', '');\n")
    if v(version) >= v("1.8.0"):
        out.append("""CREATE UNLOGGED TABLE pgmq.notify_insert_throttle (
    queue_name varchar UNIQUE NOT NULL
        CONSTRAINT notify_insert_throttle_meta_queue_name_fk REFERENCES pgmq.meta (queue_name) ON DELETE CASCADE,
    throttle_interval_ms integer NOT NULL DEFAULT 0,
    last_notified_at timestamp with time zone NOT NULL DEFAULT to_timestamp(0)
);
CREATE INDEX idx_notify_throttle_active ON pgmq.notify_insert_throttle (queue_name, last_notified_at)
    WHERE throttle_interval_ms > 0;
""")
    if v(version) >= v("1.11.0"):
        out.append(f"""CREATE TABLE pgmq.topic_bindings (
    pattern text NOT NULL,
    queue_name text NOT NULL
        CONSTRAINT topic_bindings_meta_queue_name_fk REFERENCES pgmq.meta (queue_name) ON DELETE CASCADE,
    bound_at timestamp with time zone DEFAULT now() NOT NULL,
    compiled_regex text GENERATED ALWAYS AS ({TOPIC_REGEX}) STORED,
    CONSTRAINT topic_bindings_unique_pattern_queue UNIQUE (pattern, queue_name)
);
CREATE INDEX idx_topic_bindings_covering ON pgmq.topic_bindings (pattern) INCLUDE (queue_name, compiled_regex);
""")
    if v(version) >= v("1.11.1"):
        out.append("SELECT pg_catalog.pg_extension_config_dump('pgmq.notify_insert_throttle', '');\n"
                   "SELECT pg_catalog.pg_extension_config_dump('pgmq.topic_bindings', '');\n")
    for name, args, result in functions(version):
        if result == "trigger":
            body = "BEGIN RETURN NEW; END"
        else:
            body = "BEGIN RAISE EXCEPTION 'PGMQ fixture stand-in'; END"
        out.append(f'CREATE FUNCTION pgmq."{name}"({args}) RETURNS {result} LANGUAGE plpgsql AS $$ {body} $$;\n')
    return "".join(out)


def create_queue(conn, version, name, unlogged=False, appended_last_read_at=False):
    """create_queue makes queue `name`'s tables, indexes and meta row as PGMQ `version` does.
    appended_last_read_at: a queue made before 1.10 and updated by PGMQ (last_read_at is the last column)."""
    lname = name.lower()
    q, a = sql.Identifier("q_" + lname), sql.Identifier("a_" + lname)
    inline = v(version) >= v("1.10.0") and not appended_last_read_at
    lra = sql.SQL("last_read_at timestamp with time zone, " if inline else "")
    conn.execute(sql.SQL(
        "CREATE {}TABLE pgmq.{} (msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "
        "read_ct int DEFAULT 0 NOT NULL, enqueued_at timestamp with time zone DEFAULT now() NOT NULL, {}"
        "vt timestamp with time zone NOT NULL, message jsonb, headers jsonb)").format(
            sql.SQL("UNLOGGED " if unlogged else ""), q, lra))
    conn.execute(sql.SQL(
        "CREATE TABLE pgmq.{} (msg_id bigint PRIMARY KEY, read_ct int DEFAULT 0 NOT NULL, "
        "enqueued_at timestamp with time zone DEFAULT now() NOT NULL, {}"
        "archived_at timestamp with time zone DEFAULT now() NOT NULL, vt timestamp with time zone NOT NULL, "
        "message jsonb, headers jsonb)").format(a, lra))
    if appended_last_read_at and v(version) >= v("1.10.0"):
        for t in (q, a):
            conn.execute(sql.SQL("ALTER TABLE pgmq.{} ADD COLUMN last_read_at timestamp with time zone").format(t))
    if v(version) < v("1.6.0"):
        conn.execute(sql.SQL("ALTER EXTENSION pgmq ADD TABLE pgmq.{}").format(q))
        conn.execute(sql.SQL("ALTER EXTENSION pgmq ADD SEQUENCE pgmq.{}").format(
            sql.Identifier("q_" + lname + "_msg_id_seq")))
        conn.execute(sql.SQL("ALTER EXTENSION pgmq ADD TABLE pgmq.{}").format(a))
    conn.execute(sql.SQL("CREATE INDEX {} ON pgmq.{} (vt ASC)").format(sql.Identifier("q_" + lname + "_vt_idx"), q))
    conn.execute(sql.SQL("CREATE INDEX {} ON pgmq.{} (archived_at)").format(
        sql.Identifier("archived_at_idx_" + name), a))
    conn.execute("INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES (%s, false, %s) "
                 "ON CONFLICT DO NOTHING", [name, unlogged])


def send(conn, name, message, headers=None, delay_s=0):
    """send inserts one message as PGMQ's send does; returns its msg_id."""
    return conn.execute(sql.SQL(
        "INSERT INTO pgmq.{} (vt, message, headers) VALUES (clock_timestamp() + %s * interval '1 second', %s, %s) "
        "RETURNING msg_id").format(sql.Identifier("q_" + name.lower())),
        [delay_s, message, headers]).fetchone()[0]


def read(conn, version, name, msg_id, vt_s):
    """read marks one message read as PGMQ's read does (vt, read_ct, last_read_at from 1.10)."""
    lra = sql.SQL(", last_read_at = clock_timestamp()" if v(version) >= v("1.10.0") else "")
    conn.execute(sql.SQL("UPDATE pgmq.{} SET vt = clock_timestamp() + %s * interval '1 second', "
                         "read_ct = read_ct + 1{} WHERE msg_id = %s").format(
        sql.Identifier("q_" + name.lower()), lra), [vt_s, msg_id])


def archive(conn, name, msg_id):
    """archive moves one message to the archive as PGMQ's archive does."""
    q, a = sql.Identifier("q_" + name.lower()), sql.Identifier("a_" + name.lower())
    conn.execute(sql.SQL("WITH m AS (DELETE FROM pgmq.{} WHERE msg_id = %s RETURNING msg_id, vt, read_ct, "
                         "enqueued_at, message, headers) INSERT INTO pgmq.{} (msg_id, vt, read_ct, enqueued_at, "
                         "message, headers) SELECT * FROM m").format(q, a), [msg_id])


def populate(conn, version):
    """populate makes the queues the migration test checks, in PGMQ `version`'s layout:
    orders (logged: in-flight, delayed, deleted, archived messages; insert notify 1.7+, FIFO index 1.9+),
    MixedCase (meta name as given, also a second meta row 'mixedcase', as PGMQ allows), fast (unlogged),
    old_layout (1.10+: made before 1.10, last_read_at appended), topic bindings 1.11+."""
    create_queue(conn, version, "orders")
    ids = [send(conn, "orders", f'{{"n": {i}}}', '{"x-pgmq-group": "g1"}' if i % 2 else None) for i in range(1, 8)]
    read(conn, version, "orders", ids[0], 3600)  # held by a consumer
    read(conn, version, "orders", ids[1], 3600)
    read(conn, version, "orders", ids[1], 3600)  # read twice, held again
    read(conn, version, "orders", ids[2], -10)  # read once, visible again
    conn.execute("DELETE FROM pgmq.q_orders WHERE msg_id = %s", [ids[3]])
    archive(conn, "orders", ids[4])
    send(conn, "orders", '{"n": "delayed"}', None, 3600)
    create_queue(conn, version, "MixedCase")
    # pgmq.create('mixedcase') after pgmq.create('MixedCase'): the tables exist, a second meta row
    conn.execute("INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES ('mixedcase', false, false)")
    send(conn, "MixedCase", '{"m": 1}')
    create_queue(conn, version, "fast", unlogged=True)
    for i in range(3):
        send(conn, "fast", f'{{"f": {i}}}')
    read(conn, version, "fast", 2, 3600)
    if v(version) >= v("1.10.0"):
        create_queue(conn, version, "old_layout", appended_last_read_at=True)
        send(conn, "old_layout", '{"o": 1}')
        archive(conn, "old_layout", send(conn, "old_layout", '{"o": 2}'))
    if v(version) >= v("1.7.0"):
        conn.execute("CREATE CONSTRAINT TRIGGER trigger_notify_queue_insert_listeners AFTER INSERT ON pgmq.q_orders "
                     "DEFERRABLE FOR EACH ROW EXECUTE PROCEDURE pgmq.notify_queue_listeners({})".format(
                         "'orders'" if v(version) >= v("1.13.1") else ""))
    if v(version) >= v("1.8.0"):
        conn.execute("INSERT INTO pgmq.notify_insert_throttle (queue_name, throttle_interval_ms, last_notified_at) "
                     "VALUES ('orders', 250, '2026-01-02 03:04:05+00')")
    if v(version) >= v("1.9.0"):
        conn.execute("CREATE INDEX q_orders_fifo_idx ON pgmq.q_orders USING GIN (headers)")
    if v(version) >= v("1.11.0"):
        conn.execute("INSERT INTO pgmq.topic_bindings (pattern, queue_name, bound_at) VALUES "
                     "('orders.*', 'orders', '2026-02-03 04:05:06+00'), ('#', 'MixedCase', now()), "
                     "('#', 'mixedcase', now())")
