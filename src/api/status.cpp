/*
 * status.cpp: pgmq.status(queue_name, msg_ids[]), where messages are now (pg/status_path.hpp).
 *
 * status(queue_name, msg_id) is a PL/pgSQL wrapper of this one (sql/pgmq.sql).
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "pg/results.hpp"
#include "pg/status_path.hpp"

namespace pgmq::api {

PGMQ_FUNCTION(pgmq_status) {
	ArrayType *ids = ArrayArg(fcinfo, 1, "msg_ids");
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kMetricsAccess);
	pg::BeginSetResult(fcinfo, false);
	pg::Status(fcinfo, &queue, ids);
	return (Datum)0;
}

} // namespace pgmq::api
