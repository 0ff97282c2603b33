/*
 * metrics_path.cpp: a queue's metrics, from its shared counters when it can (see metrics_path.hpp).
 */
#include "pg/metrics_path.hpp"

#include "pg/counters.hpp"
#include "pg/plans.hpp"

extern "C" {
#include "executor/spi.h"
#include "utils/timestamp.h"
}

namespace pgmq::pg {

void
QueueMetrics(const Queue *queue, TimestampTz now, QueueStats *stats) {
	Oid relid = queue->queue_relid;
	CountedQueue counted;
	bool valid = CountersRead(relid, now, &counted);
	/* Counters that lost the queue's vts (too many) are rebuilt too: the scan that rebuilds them counts anyway. */
	if (!valid || !counted.has_visible)
		valid = CountersRebuild(queue->queue_table, relid, now, &counted);
	stats->counted = valid && counted.has_visible;
	if (stats->counted)
		now = counted.now;
	stats->now = now;
	Datum args[2] = {TimestampTzGetDatum(now), ObjectIdGetDatum(relid)};
	ConnectSpi();
	ExecuteStatement(queue, stats->counted ? Statement::kMetricsEnds : Statement::kMetrics, args, nullptr, true);
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	/* kMetrics: count, visible, newest, oldest, last; kMetricsEnds: newest, oldest, last. */
	int first = stats->counted ? 0 : 2;
	Datum newest = SPI_getbinval(row, desc, first + 1, &isnull);
	stats->has_newest = !isnull;
	stats->newest = isnull ? 0 : DatumGetTimestampTz(newest);
	Datum oldest = SPI_getbinval(row, desc, first + 2, &isnull);
	stats->has_oldest = !isnull;
	stats->oldest = isnull ? 0 : DatumGetTimestampTz(oldest);
	Datum total = SPI_getbinval(row, desc, first + 3, &isnull);
	stats->total = isnull ? 0 : DatumGetInt64(total);
	if (stats->counted) {
		stats->length = counted.length;
		stats->visible = counted.visible;
	} else {
		stats->length = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		stats->visible = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
	}
	FinishSpi();
}

} // namespace pgmq::pg
