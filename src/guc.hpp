/*
 * guc.hpp: every pgmq.* configuration parameter, defined in guc.cpp.
 */
#pragma once

namespace pgmq {

/* pgmq.max_read_qty: the largest qty a read, read_with_poll or pop accepts; 0: no limit (PGMQ's behaviour). */
extern int guc_max_read_qty;

/* pgmq.strict_input: reject arguments PGMQ accepts (NULL message, negative vt, qty 0, ...); off by default. */
extern bool guc_strict_input;

/* pgmq.worker_enabled: whether the background worker enforces policies (needs the preload). */
extern bool guc_worker_enabled;

/* pgmq.worker_interval_ms: pause between two maintenance passes of a database's worker. */
extern int guc_worker_interval_ms;

/* pgmq.worker_batch_size: most messages one maintenance transaction moves per queue. */
extern int guc_worker_batch_size;

/* pgmq.launcher_interval_ms: how often the launcher looks for databases without a worker. */
extern int guc_launcher_interval_ms;

/* pgmq.queue_fillfactor: fillfactor of queue tables made by pgmq.create (100: no storage option). */
extern int guc_queue_fillfactor;

/* pgmq.plan_cache_queues: most queues whose prepared plans a backend keeps (least recently used go first). */
extern int guc_plan_cache_queues;

/* pgmq.priority_fifo_every: every this many reads of priority queues, a backend reads FIFO; 0: never. */
extern int guc_priority_fifo_every;

/* pgmq.metrics_counters: slots of the shared per-queue counts of metrics() (pg/counters.hpp); 0: none. */
extern int guc_metrics_counters;

/* pgmq.metrics_vt_entries: shared (queue, vt) entries of metrics() (pg/counters.hpp); 0: none. */
extern int guc_metrics_vt_entries;

/* DefineGucs defines the pgmq.* parameters; called once from _PG_init. */
void DefineGucs();

} // namespace pgmq
