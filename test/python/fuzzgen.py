"""fuzzgen.py: a seeded generator of hostile arguments for the functions of schema pgmq.

Used by test_fuzz.py. Every value is a Python str (sent as a parameter and cast to the
argument's type on the server) or None (SQL NULL); the same seed gives the same sequence.
Values are chosen by the argument's type (format_type of pg_proc.proargtypes) and, for text
arguments, by its name: queue names get the hostile queue-name pool.
"""
import random

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)

# Queues the fuzz test creates before it starts (see test_fuzz.py).
FIXTURE_QUEUES = ["fz_mine", "fz_unlogged", "fz_readonly", "fz_private", "fz_other", "fz_" + "l" * 44]

# Text arguments that name a queue (or a queue table).
QUEUE_ARGUMENTS = {"queue_name", "invalid_queue", "table_name"}

# Valid values of other text arguments, drawn half of the time so that calls get past the checks.
VALID_TEXTS = {"retention_action": ["archive", "delete"], "prefix": ["q", "a"],
               "partition_interval": ["10000", "1 day"], "retention_interval": ["100000", "7 days"]}

# Valid names (some fold to a fixture's name, some collide with other relations' names) ...
_VALID_QUEUE_NAMES = FIXTURE_QUEUES + [
    "FZ_MINE", "Fz_Other", "fz_new_1", "fz_new_2", "FZ-New-3", "meta", "Meta", "notify_insert_throttle",
    "queue_policy", "policies",
    # tables that collide with another queue's index or sequence (q_a_pkey, q_fz_mine_msg_id_seq)
    "a", "a_pkey", "fz_mine_pkey", "fz_mine_msg_id_seq", "fz_mine_vt_idx", "-", "_", "0", "-a", "--",
    "fz-mine", "q_fz_mine", "a_fz_mine", "a" * 46, "a" * 47, "A" * 47,
]
# ... and invalid ones.
_INVALID_QUEUE_NAMES = [
    "fz_mine ", " fz_mine", "fz mine", "fz_mine\t", "", " ", ";", "$", "'", '"', "\\", "%", "fz_mine%", "fz'mine",
    'fz"mine', "a;drop table pgmq.meta", "x'); DROP TABLE pgmq.meta; --", "$1", "a$b", "pg_catalog.pg_class", "pgmq.meta",
    "naïve", "очередь", "队列", "\U0001f980", "é" * 24, "é" * 47, "\x01", "a\nb", "a\rb", "\x7f", "\x1b[31m",
    "a" * 48, "a" * 62, "a" * 63, "a" * 64, "a" * 200, "a" * 100000,
]

_TEXTS = [
    "", " ", "q", "a", "Q", "x", "archive", "delete", "ARCHIVE", "10000", "-1", "0", "abc", "NULL", "'", "''",
    "\\", "%s", "%n", "'; DROP TABLE pgmq.meta; --", "naïve", "\U0001f980", "\x01\x02", "q" * 70, "x" * 100000,
]

# Valid values of integer arguments, drawn a third of the time so that calls get past the checks.
VALID_INTS = {"max_deliveries": [1, 2, None], "deadline_seconds": [1, 3600, None], "retention_seconds": [1, 3600, None],
              "throttle_interval_ms": [0, 250], "qty": [1, 5], "vt": [0, 30], "max_poll_seconds": [0, 1],
              "poll_interval_ms": [1, 100], "delay": [0, 1]}

_INTS = [0, 1, -1, 2, 5, 30, 100, 9999, 10000, 10001, 86400, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1]

_BIGINTS = [0, 1, -1, 2, 3, 100, INT_MAX, INT_MAX + 1, BIGINT_MAX, BIGINT_MIN, BIGINT_MAX - 1, BIGINT_MIN + 1]

_TIMESTAMPS = [
    "infinity", "-infinity", "294276-12-31 23:59:59.999999+00", "294276-12-31 00:00:00+00", "294000-01-01 00:00:00+00",
    "4713-01-01 00:00:00+00 BC", "4713-11-24 00:00:00+00 BC", "1970-01-01 00:00:00+00", "2000-01-01 00:00:00+00",
    "epoch", "now", "today", "tomorrow", "yesterday",
]

_MEGABYTE = 1024 * 1024


class Generator:
    """Generator draws hostile argument values from one random.Random(seed)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.known_msg_ids = []  # msg_ids the test saw returned, so deletes and reads hit real rows
        self._json = [
            "{}", "[]", "null", "0", "-0", "1e308", "-1e-308", '""', '"s"', "true", '{"a": 1}', '{"a": {"b": [1, 2, 3]}}',
            '{"a": null}', '"\\u00e9\\ud83e\\udd80"', '"\\u0000"', '{"x-pgmq-invalid": {"reason": "x"}}',
            '{"x-pgmq-headers": []}', '{"a": 1, "a": 2}', '{"": ""}', '[[[]]]', '{"k": "' + "\x01" * 10 + '"}',
            '{"big": 123456789012345678901234567890123456789012345678901234567890}',
        ]
        self._huge_json = [
            '{"k": "' + "x" * _MEGABYTE + '"}',  # 1 MB string
            "[" + ",".join(["1"] * 100000) + "]",  # 100,000 elements
            "{" + ",".join('"k%d": %d' % (i, i) for i in range(10000)) + "}",  # 10,000 keys
            "[" * 10000 + "]" * 10000,  # 10,000 levels: jsonb accepts it
            '{"a":' * 10000 + "1" + "}" * 10000,
            "[" * 100000 + "]" * 100000,  # 100,000 levels: beyond max_stack_depth (54001)
        ]
        self._bigint_arrays = [
            "{}", "{NULL}", "{1,NULL,2}", "{{1,2},{3,4}}", "{{{1}}}", "[-5:-3]={1,2,3}", "[2147483646:2147483647]={1,2}",
            "{%d,%d,0,-1}" % (BIGINT_MAX, BIGINT_MIN), "{1,1,1,1}", "{" + ",".join(str(i) for i in range(1, 100001)) + "}",
        ]
        self._jsonb_arrays = [
            "{}", "{NULL}", '{"{}"}', '{"{}",NULL}', '{{"{}"},{"[]"}}', '[0:1]={"{}","{}"}', '[-2:-2]={"1"}', '{"{}","{}"}',
            "{" + ",".join(['"{}"'] * 5000) + "}", '{"{\\"k\\": \\"' + "x" * _MEGABYTE + '\\"}"}',
        ]

    def choice(self, values):
        return self.rng.choice(values)

    def queue_name(self):
        r = self.rng.random()
        if r < 0.4:
            return self.choice(FIXTURE_QUEUES)
        if r < 0.65:
            return self.choice(_VALID_QUEUE_NAMES)
        return self.choice(_INVALID_QUEUE_NAMES)

    def text(self, argname):
        r = self.rng.random()
        if r < 0.05:
            return None
        if argname in QUEUE_ARGUMENTS and r < 0.95:
            return self.queue_name()
        if argname in VALID_TEXTS and r < 0.55:
            return self.choice(VALID_TEXTS[argname])
        if r < 0.2:
            return self.queue_name()
        return self.choice(_TEXTS)

    def integer(self, argname):
        r = self.rng.random()
        if r < 0.08:
            return None
        if argname in VALID_INTS and r < 0.4:
            value = self.choice(VALID_INTS[argname])
            return None if value is None else str(value)
        if r < 0.2:
            return str(self.rng.randint(-100, 100))
        return str(self.choice(_INTS))

    def bigint(self):
        r = self.rng.random()
        if r < 0.08:
            return None
        if r < 0.5 and self.known_msg_ids:
            return str(self.choice(self.known_msg_ids))
        return str(self.choice(_BIGINTS))

    def bigint_array(self):
        r = self.rng.random()
        if r < 0.08:
            return None
        ids = [str(i) for i in self.rng.sample(self.known_msg_ids, min(len(self.known_msg_ids), 5))]
        return self.choice(self._bigint_arrays + ["{" + ",".join(ids) + "}", "{" + ",".join(ids + ids) + "}"])

    def jsonb(self):
        r = self.rng.random()
        if r < 0.08:
            return None
        if r < 0.12:
            return self.choice(self._huge_json)
        return self.choice(self._json)

    def jsonb_array(self):
        r = self.rng.random()
        if r < 0.08:
            return None
        element = '"%s"' % self.choice(self._json).replace("\\", "\\\\").replace('"', '\\"')
        return self.choice(self._jsonb_arrays + ["{%s}" % element, "{%s,%s,%s}" % (element, element, element)])

    def timestamptz(self):
        r = self.rng.random()
        if r < 0.08:
            return None
        return self.choice(_TIMESTAMPS)

    def boolean(self):
        return self.choice(["true", "false", None])

    def value(self, typname, argname):
        """value returns a hostile value (str or None) for an argument of SQL type typname."""
        if typname in ("text", "character varying", "name"):
            return self.text(argname)
        if typname == "integer":
            return self.integer(argname)
        if typname == "bigint":
            return self.bigint()
        if typname == "bigint[]":
            return self.bigint_array()
        if typname == "jsonb":
            return self.jsonb()
        if typname == "jsonb[]":
            return self.jsonb_array()
        if typname == "timestamp with time zone":
            return self.timestamptz()
        if typname == "boolean":
            return self.boolean()
        # A type this generator does not know yet: NULL, or text the type's input function may reject.
        return self.choice([None, "", "0", "{}", self.queue_name()])

    def remember_msg_ids(self, ids):
        """remember_msg_ids keeps the latest msg_ids the server returned (at most 50)."""
        self.known_msg_ids.extend(ids)
        del self.known_msg_ids[:-50]


def describe(value, limit=60):
    """describe renders an argument value for a report, abbreviating long strings."""
    if value is None:
        return "NULL"
    if len(value) > limit:
        return "%r...<%d chars>" % (value[:20], len(value))
    return repr(value)
