/*
 * topics.cpp: topic routing: validate_routing_key, validate_topic_pattern, send_topic and
 * send_batch_topic (every PGMQ overload), and _test_routing (behind pgmq.test_routing).
 *
 * Routing is core/routing.hpp's compiled matcher over the cached bindings (pg/topics.hpp).
 * The messages go to each matching queue (each once, in name order) through SendToQueue,
 * the one call of the send path here. A binding with a filter (not in PGMQ) passes a message
 * only if, for every key of the filter, the message's headers hold one of the listed values.
 * Errors PGMQ raises with RAISE EXCEPTION keep its SQLSTATE P0001 and its text.
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "core/routing.hpp"
#include "pg/queue.hpp"
#include "pg/results.hpp"
#include "pg/send_path.hpp"
#include "pg/time.hpp"
#include "pg/topics.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace pgmq::api {

namespace {

/* RaiseTopicProblem raises PGMQ's error (P0001) for what is wrong with a routing key or pattern. */
pg_attribute_noreturn() void RaiseTopicProblem(core::TopicProblem problem, const char *what, const char *value,
											   int chars) {
	switch (problem) {
	case core::TopicProblem::kNone:
		break;
	case core::TopicProblem::kEmpty:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("%s cannot be NULL or empty", what)));
	case core::TopicProblem::kTooLong:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION),
						errmsg("%s length cannot exceed 255 characters, got %d characters", what, chars)));
	case core::TopicProblem::kInvalidCharacters:
		if (strcmp(what, "pattern") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RAISE_EXCEPTION),
					 errmsg("pattern contains invalid characters. Only alphanumeric, dots, hyphens, underscores, "
							"*, and # are allowed. Got: %s",
							value)));
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION),
						errmsg("%s contains invalid characters. Only alphanumeric, dots, hyphens, and underscores are "
							   "allowed. Got: %s",
							   what, value)));
	case core::TopicProblem::kLeadingDot:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("%s cannot start with a dot. Got: %s", what, value)));
	case core::TopicProblem::kTrailingDot:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("%s cannot end with a dot. Got: %s", what, value)));
	case core::TopicProblem::kConsecutiveDots:
		ereport(ERROR,
				(errcode(ERRCODE_RAISE_EXCEPTION), errmsg("%s cannot contain consecutive dots. Got: %s", what, value)));
	case core::TopicProblem::kConsecutiveStars:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION),
						errmsg("%s cannot contain consecutive stars (**). Use # for multi-segment matching. Got: %s",
							   what, value)));
	case core::TopicProblem::kConsecutiveHashes:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION),
						errmsg("%s cannot contain consecutive hashes (##). A single # already matches zero or more "
							   "segments. Got: %s",
							   what, value)));
	case core::TopicProblem::kAdjacentWildcards:
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION),
						errmsg("%s cannot contain adjacent wildcards (*# or #*). Separate wildcards with dots. Got: %s",
							   what, value)));
	}
	elog(ERROR, "pgmq: unexpected topic check result");
}

/* RoutingKeyArg reads and checks the routing_key argument (P0001 as in PGMQ); returns it as text. */
text *
RoutingKeyArg(FunctionCallInfo fcinfo, int argno) {
	if (PG_ARGISNULL(argno))
		RaiseTopicProblem(core::TopicProblem::kEmpty, "routing_key", "", 0);
	text *key = PG_GETARG_TEXT_PP(argno);
	const char *data = VARDATA_ANY(key);
	int length = VARSIZE_ANY_EXHDR(key);
	int chars = pg_mbstrlen_with_len(data, length);
	core::TopicProblem problem = core::CheckRoutingKey(data, length, chars);
	if (problem != core::TopicProblem::kNone)
		RaiseTopicProblem(problem, "routing_key", text_to_cstring(key), chars);
	return key;
}

/* FilterAccepts says whether headers (NULL: none) hold, for every key of filter, one of its listed values. */
bool
FilterAccepts(Jsonb *filter, Jsonb *headers) {
	if (filter == nullptr)
		return true;
	if (!JB_ROOT_IS_OBJECT(filter))
		return false;
	JsonbIterator *it = JsonbIteratorInit(&filter->root);
	JsonbValue key;
	JsonbIteratorToken token;
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE) {
		if (token != WJB_KEY)
			continue;
		JsonbValue allowed;
		JsonbIteratorNext(&it, &allowed, true);
		if (headers == nullptr || !JB_ROOT_IS_OBJECT(headers))
			return false;
		JsonbValue *value =
			getKeyJsonValueFromContainer(&headers->root, key.val.string.val, key.val.string.len, nullptr);
		if (value == nullptr || value->type == jbvBinary)
			return false;
		if (allowed.type != jbvBinary || !JsonContainerIsArray(allowed.val.binary.data))
			return false;
		if (findJsonbValueFromContainer(allowed.val.binary.data, JB_FARRAY, value) == nullptr)
			return false;
	}
	return true;
}

/*
 * SendToQueue stores count messages (headers NULL: none) with visibility time vt in the
 * queue (looked up and locked with kSendAccess) and writes their msg_ids to ids, in order,
 * through the send path every producer uses.
 */
void
SendToQueue(const pg::Queue *queue, TimestampTz vt, int count, Datum *messages, Datum *headers, int64 *ids) {
	int64 *stored;
	uint64 n = pg::SendMessages(queue, vt, count, messages, headers, &stored);
	if (n != static_cast<uint64>(count))
		elog(ERROR, "pgmq: send to queue \"%s\" stored " UINT64_FORMAT " of %d messages", queue->name.text, n, count);
	memcpy(ids, stored, sizeof(int64) * count);
	pfree(stored);
}

/* Target is a queue some messages go to: accept[m] says whether message m does. */
struct Target {
	pg::Queue queue;
	bool *accept;
	bool exists;
};

/*
 * Route finds the queues the routing key and filters send the count messages to (each
 * queue once, in name order), looks them up and locks them for a send (privileges of every target
 * checked before the first lock); sets *targets and returns how many. A queue dropped meanwhile
 * is left out (exists false).
 */
int
Route(text *key, int count, Datum *headers, Target **targets) {
	const pg::TopicCache *cache = pg::CurrentTopicCache();
	uint32 *matched = static_cast<uint32 *>(palloc(sizeof(uint32) * (cache->binding_count + 1)));
	uint32 n = CallCpp(core::MatchRoutingKey, cache->router, static_cast<const char *>(VARDATA_ANY(key)),
					   static_cast<std::size_t>(VARSIZE_ANY_EXHDR(key)), matched);
	*targets = nullptr;
	if (n == 0)
		return 0;

	/* accept[q * count + m]: message m goes to queue q. Headers are only read for a filter. */
	bool *accept = static_cast<bool *>(palloc0(sizeof(bool) * cache->queue_count * count));
	Jsonb **header_values = nullptr;
	for (uint32 i = 0; i < n; i++) {
		const pg::TopicBinding *binding = &cache->bindings[matched[i]];
		bool *row = accept + static_cast<size_t>(binding->queue) * count;
		if (binding->filter != nullptr && header_values == nullptr) {
			header_values = static_cast<Jsonb **>(palloc0(sizeof(Jsonb *) * count));
			for (int m = 0; headers != nullptr && m < count; m++)
				header_values[m] = headers[m] == (Datum)0 ? nullptr : DatumGetJsonbP(headers[m]);
		}
		for (int m = 0; m < count; m++)
			row[m] = row[m] || binding->filter == nullptr || FilterAccepts(binding->filter, header_values[m]);
	}

	/* Copied out of the cache: sending may run triggers that reload it. */
	Target *out = static_cast<Target *>(palloc(sizeof(Target) * cache->queue_count));
	int found = 0;
	for (uint32 q = 0; q < cache->queue_count; q++) {
		bool *row = accept + static_cast<size_t>(q) * count;
		bool any = false;
		for (int m = 0; m < count && !any; m++)
			any = row[m];
		if (!any)
			continue;
		pg::QueueFromText(cstring_to_text(cache->queues[q]), &out[found].queue);
		out[found].accept = row;
		out[found].exists = true;
		found++;
	}
	/* Every privilege before any lock: a role that may not send to one target waits in no lock queue. */
	if (found > 1) {
		for (int t = 0; t < found; t++)
			if (pg::LookupQueue(&out[t].queue, true))
				pg::CheckTableAccess(out[t].queue.queue_relid, pg::kSendAccess);
	}
	for (int t = 0; t < found; t++) {
		CHECK_FOR_INTERRUPTS();
		out[t].exists = pg::LookupQueue(&out[t].queue, true, pg::kSendAccess);
	}
	*targets = out;
	return found;
}

/* SendTopic routes one message: send_topic(routing_key, msg[, headers], delay). */
Datum
SendTopic(FunctionCallInfo fcinfo, int headers_arg, int delay_arg) {
	text *key = RoutingKeyArg(fcinfo, 0);
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("msg cannot be NULL")));
	int32 delay = 0;
	if (delay_arg >= 0) {
		pg::ArgNotNull(fcinfo, delay_arg, "delay");
		delay = PG_GETARG_INT32(delay_arg);
		if (delay < 0)
			ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("delay cannot be negative, got: %d", delay)));
	}
	Datum message = PG_GETARG_DATUM(1);
	bool has_headers = headers_arg >= 0 && !PG_ARGISNULL(headers_arg);
	Datum headers = has_headers ? PG_GETARG_DATUM(headers_arg) : (Datum)0;

	Target *targets;
	int found = Route(key, 1, has_headers ? &headers : nullptr, &targets);
	TimestampTz vt = pg::PlusSeconds(GetCurrentTimestamp(), delay);
	int sent = 0;
	for (int t = 0; t < found; t++) {
		if (!targets[t].exists)
			continue;
		int64 id;
		SendToQueue(&targets[t].queue, vt, 1, &message, has_headers ? &headers : nullptr, &id);
		sent++;
	}
	PG_RETURN_INT32(sent);
}

enum class BatchDelay { kNow, kSeconds, kTimestamp };

/* SendBatchTopic routes an array of messages and returns (queue_name, msg_id) per message stored. */
Datum
SendBatchTopic(FunctionCallInfo fcinfo, int headers_arg, int delay_arg, BatchDelay delay_kind) {
	text *key = RoutingKeyArg(fcinfo, 0);
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("msgs cannot be NULL or empty")));
	/* As PGMQ's unnest, NULL elements are NULL messages and headers (strict: 22004). */
	ArrayType *msgs = ArrayOrNullArg(fcinfo, 1, "msgs");
	int count = ArrayGetNItems(ARR_NDIM(msgs), ARR_DIMS(msgs));
	if (count == 0)
		ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION), errmsg("msgs cannot be NULL or empty")));
	bool has_headers = headers_arg >= 0 && !PG_ARGISNULL(headers_arg);
	ArrayType *header_array = has_headers ? ArrayOrNullArg(fcinfo, headers_arg, "headers") : nullptr;
	if (has_headers) {
		int header_count = ArrayGetNItems(ARR_NDIM(header_array), ARR_DIMS(header_array));
		if (header_count != count)
			ereport(ERROR,
					(errcode(ERRCODE_RAISE_EXCEPTION),
					 errmsg("headers array length (%d) must match msgs array length (%d)", header_count, count)));
	}
	TimestampTz vt = GetCurrentTimestamp();
	if (delay_kind == BatchDelay::kTimestamp) {
		vt = TimestampArg(fcinfo, delay_arg, "delay");
	} else if (delay_kind == BatchDelay::kSeconds) {
		/* As send_batch (PGMQ's batch forms add the seconds unchecked): negative is now, NULL 23502. */
		vt = pg::PlusSeconds(vt, SecondsArg(fcinfo, delay_arg, "delay"));
	}

	Datum *messages = JsonbArrayElements(msgs);
	Datum *headers = has_headers ? JsonbArrayElements(header_array) : nullptr;

	pg::BeginSetResult(fcinfo, false);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	Target *targets;
	int found = Route(key, count, headers, &targets);
	Datum *selected = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	Datum *selected_headers = has_headers ? static_cast<Datum *>(palloc(sizeof(Datum) * count)) : nullptr;
	int64 *ids = static_cast<int64 *>(palloc(sizeof(int64) * count));
	for (int t = 0; t < found; t++) {
		if (!targets[t].exists)
			continue;
		int n = 0;
		for (int m = 0; m < count; m++) {
			if (!targets[t].accept[m])
				continue;
			selected[n] = messages[m];
			if (has_headers)
				selected_headers[n] = headers[m];
			n++;
		}
		SendToQueue(&targets[t].queue, vt, n, selected, selected_headers, ids);
		Datum name = CStringGetTextDatum(targets[t].queue.name.text);
		for (int i = 0; i < n; i++) {
			Datum values[2] = {name, Int64GetDatum(ids[i])};
			bool nulls[2] = {false, false};
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum)0;
}

} // namespace

/* pgmq_validate_routing_key returns true for a valid routing key, else raises PGMQ's error (P0001). */
PGMQ_FUNCTION(pgmq_validate_routing_key) {
	RoutingKeyArg(fcinfo, 0);
	PG_RETURN_BOOL(true);
}

/* pgmq_validate_topic_pattern returns true for a valid pattern, else raises PGMQ's error (P0001). */
PGMQ_FUNCTION(pgmq_validate_topic_pattern) {
	if (PG_ARGISNULL(0))
		RaiseTopicProblem(core::TopicProblem::kEmpty, "pattern", "", 0);
	text *pattern = PG_GETARG_TEXT_PP(0);
	const char *data = VARDATA_ANY(pattern);
	int length = VARSIZE_ANY_EXHDR(pattern);
	int chars = pg_mbstrlen_with_len(data, length);
	core::TopicProblem problem = core::CheckTopicPattern(data, length, chars);
	if (problem != core::TopicProblem::kNone)
		RaiseTopicProblem(problem, "pattern", text_to_cstring(pattern), chars);
	PG_RETURN_BOOL(true);
}

PGMQ_FUNCTION(pgmq_send_topic) {
	return SendTopic(fcinfo, -1, -1);
}
PGMQ_FUNCTION(pgmq_send_topic_delay) {
	return SendTopic(fcinfo, -1, 2);
}
PGMQ_FUNCTION(pgmq_send_topic_headers_delay) {
	return SendTopic(fcinfo, 2, 3);
}

PGMQ_FUNCTION(pgmq_send_batch_topic) {
	return SendBatchTopic(fcinfo, -1, -1, BatchDelay::kNow);
}
PGMQ_FUNCTION(pgmq_send_batch_topic_headers) {
	return SendBatchTopic(fcinfo, 2, -1, BatchDelay::kNow);
}
PGMQ_FUNCTION(pgmq_send_batch_topic_delay) {
	return SendBatchTopic(fcinfo, -1, 2, BatchDelay::kSeconds);
}
PGMQ_FUNCTION(pgmq_send_batch_topic_at) {
	return SendBatchTopic(fcinfo, -1, 2, BatchDelay::kTimestamp);
}
PGMQ_FUNCTION(pgmq_send_batch_topic_headers_delay) {
	return SendBatchTopic(fcinfo, 2, 3, BatchDelay::kSeconds);
}
PGMQ_FUNCTION(pgmq_send_batch_topic_headers_at) {
	return SendBatchTopic(fcinfo, 2, 3, BatchDelay::kTimestamp);
}

/*
 * pgmq__test_routing returns (pattern, queue_name, compiled_regex) of every binding whose pattern
 * matches the routing key, filters not applied (pgmq.test_routing orders them). It reads the
 * cache, so it checks the SELECT privilege on pgmq.topic_bindings a query of the table would need.
 */
PGMQ_FUNCTION(pgmq__test_routing) {
	text *key = RoutingKeyArg(fcinfo, 0);
	Oid relid = pg::TopicBindingsRelid();
	AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, "topic_bindings");
	pg::BeginSetResult(fcinfo, false);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	const pg::TopicCache *cache = pg::CurrentTopicCache();
	uint32 *matched = static_cast<uint32 *>(palloc(sizeof(uint32) * (cache->binding_count + 1)));
	uint32 n = CallCpp(core::MatchRoutingKey, cache->router, static_cast<const char *>(VARDATA_ANY(key)),
					   static_cast<std::size_t>(VARSIZE_ANY_EXHDR(key)), matched);
	for (uint32 i = 0; i < n; i++) {
		const pg::TopicBinding *binding = &cache->bindings[matched[i]];
		Datum values[3] = {CStringGetTextDatum(binding->pattern), CStringGetTextDatum(binding->queue_name),
						   binding->compiled_regex != nullptr ? CStringGetTextDatum(binding->compiled_regex)
															  : (Datum)0};
		bool nulls[3] = {false, false, binding->compiled_regex == nullptr};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

/* pgmq_topic_bindings_changed is the statement trigger on pgmq.topic_bindings: every backend drops its topic cache. */
PGMQ_FUNCTION(pgmq_topic_bindings_changed) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("pgmq._topic_bindings_changed() must be called as a trigger")));
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigger->tg_relation));
	return PointerGetDatum(nullptr);
}

} // namespace pgmq::api
