/*
 * guc.cpp: definitions of the pgmq.* configuration parameters.
 */
#include "guc.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
}

namespace pgmq {

int guc_max_read_qty = 0;
bool guc_strict_input = false;
bool guc_worker_enabled = true;
int guc_worker_interval_ms = 1000;
int guc_worker_batch_size = 1000;
int guc_launcher_interval_ms = 5000;
int guc_queue_fillfactor = 50;
int guc_plan_cache_queues = 64;
int guc_priority_fifo_every = 100;
int guc_metrics_counters = 4096;
int guc_metrics_vt_entries = 65536;

void
DefineGucs() {
	DefineCustomIntVariable("pgmq.max_read_qty", "Largest qty a read, read_with_poll or pop accepts (0: no limit).",
							"A larger qty is rejected with an error. 0, the default, accepts any qty, as PGMQ does.",
							&guc_max_read_qty, 0, 0, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomBoolVariable(
		"pgmq.strict_input", "Rejects arguments that PGMQ accepts but that are likely mistakes.",
		"Off (the default): PGMQ's behaviour, e.g. a NULL message is stored, a negative vt or delay "
		"means now, qty 0 returns nothing, a NULL qty reads every visible message. On: such "
		"arguments are errors (22004 for NULL, 22023 for a bad value).",
		&guc_strict_input, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomBoolVariable("pgmq.worker_enabled", "Runs the pgmq background worker that enforces queue policies.",
							 "Needs shared_preload_libraries = 'pgmq'. Without the worker, call "
							 "pgmq.run_maintenance() yourself.",
							 &guc_worker_enabled, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("pgmq.worker_interval_ms", "Pause between two maintenance passes of the pgmq worker.",
							"Overdue messages move at most about this long after they fall due.",
							&guc_worker_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
							nullptr);
	DefineCustomIntVariable("pgmq.worker_batch_size", "Most messages of one queue moved in one transaction.",
							"Used by the worker and by pgmq.run_maintenance().", &guc_worker_batch_size, 1000, 1,
							100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"pgmq.launcher_interval_ms", "How often the pgmq launcher looks for databases that need a worker.",
		"A database where CREATE EXTENSION pgmq ran gets its worker within about this long.", &guc_launcher_interval_ms,
		5000, 100, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("pgmq.queue_fillfactor", "Fillfactor of the queue tables pgmq.create makes.",
							"Room left on each page lets a read's update stay on its page (a HOT update, no index "
							"entry); 100 packs pages like PGMQ does.",
							&guc_queue_fillfactor, 50, 10, 100, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("pgmq.plan_cache_queues", "Most queues whose prepared statements one session keeps.",
							"The plans of the least recently used queue are freed when one more queue needs "
							"plans; a queue used again is planned again.",
							&guc_plan_cache_queues, 64, 1, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("pgmq.priority_fifo_every",
							"Every this many reads of priority queues in a session, one takes the oldest messages.",
							"Bounds how long a low-priority message waits behind higher ones: that read (or pop) "
							"ignores priorities. 0: strict priority order, low priorities may starve. Setting it "
							"restarts the count.",
							&guc_priority_fifo_every, 100, 0, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	/* Server-start settings can only be defined while preloading (later it would be FATAL). */
	if (process_shared_preload_libraries_in_progress) {
		DefineCustomIntVariable("pgmq.metrics_counters",
								"Queues whose message counts shared memory keeps for metrics().",
								"A queue with a counter gets queue_length and queue_visible_length without a scan of "
								"its table (needs pgmq in shared_preload_libraries); a queue whose slot another one "
								"holds is scanned. 0: none.",
								&guc_metrics_counters, 4096, 0, 1 << 20, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
		DefineCustomIntVariable("pgmq.metrics_vt_entries",
								"Distinct future visibility times shared memory keeps for metrics(), for all queues.",
								"queue_visible_length is queue_length minus the messages whose vt is after now, "
								"kept per vt; a queue whose vts do not fit is scanned for it. 0: always scanned.",
								&guc_metrics_vt_entries, 65536, 0, 1 << 24, PGC_POSTMASTER, 0, nullptr, nullptr,
								nullptr);
	}
	MarkGUCPrefixReserved("pgmq");
}

} // namespace pgmq
