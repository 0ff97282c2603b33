/*
 * ack.cpp: pgmq.delete, pgmq.archive and pgmq.set_vt.
 *
 * Each checks its arguments and calls the ack path (pg/ack_path.hpp).
 * delete and archive acknowledge a message whatever its visibility; the
 * single-id forms return whether it existed, the array forms the ids that
 * did. set_vt changes a message's visibility timeout and returns it.
 */
#include "api/args.hpp"
#include "boundary.hpp"
#include "guc.hpp"
#include "pg/ack_path.hpp"
#include "pg/results.hpp"
#include "pg/time.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace pgmq::api {

namespace {

/* AckOne runs a single-id delete or archive and returns whether a row was affected. */
Datum
AckOne(FunctionCallInfo fcinfo, pg::Ack ack) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kDeleteAccess);
	/* PGMQ's WHERE msg_id = NULL matches nothing. */
	if (!guc_strict_input && PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	pg::ArgNotNull(fcinfo, 1, "msg_id");
	int64 id = PG_GETARG_INT64(1);
	int64 *acked;
	PG_RETURN_BOOL(pg::AckMessages(&queue, ack, &id, 1, &acked) > 0);
}

/* AckMany runs an array delete or archive and returns the ids that existed. */
Datum
AckMany(FunctionCallInfo fcinfo, pg::Ack ack) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kDeleteAccess);
	/* PGMQ's msg_id = ANY (NULL) matches nothing, and NULL elements match nothing. */
	bool none = !guc_strict_input && PG_ARGISNULL(1);
	ArrayType *array = none ? nullptr : ArrayOrNullArg(fcinfo, 1, "msg_ids");
	pg::BeginSetResult(fcinfo, true);
	int total = none ? 0 : ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	int64 *ids = static_cast<int64 *>(palloc(sizeof(int64) * Max(total, 1)));
	int count = 0;
	if (total > 0) {
		Datum *elements;
		bool *nulls;
		deconstruct_array(array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elements, &nulls, &total);
		for (int i = 0; i < total; i++) {
			if (!nulls[i])
				ids[count++] = DatumGetInt64(elements[i]);
		}
	}
	int64 *acked;
	uint64 n = pg::AckMessages(&queue, ack, ids, count, &acked);
	for (uint64 i = 0; i < n; i++)
		pg::PutInt8(fcinfo, acked[i]);
	return (Datum)0;
}

/* SetVt updates vt of the message(s) in ids (a bigint or bigint[] Datum) to the given time. */
Datum
SetVt(FunctionCallInfo fcinfo, const pg::Queue *queue, Datum ids, bool many, TimestampTz vt) {
	pg::BeginSetResult(fcinfo, false);
	pg::SetVisibility(fcinfo, queue, ids, many, vt);
	return (Datum)0;
}

/* SetVtTyped serves the four typed overloads of set_vt. */
Datum
SetVtTyped(FunctionCallInfo fcinfo, bool many, bool absolute) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kReadAccess);
	/* PGMQ's WHERE msg_id = NULL (or = ANY (NULL)) matches nothing. */
	if (!guc_strict_input && PG_ARGISNULL(1)) {
		pg::BeginSetResult(fcinfo, false);
		return (Datum)0;
	}
	Datum ids;
	if (many)
		ids = PointerGetDatum(ArrayOrNullArg(fcinfo, 1, "msg_ids"));
	else {
		pg::ArgNotNull(fcinfo, 1, "msg_id");
		ids = PG_GETARG_DATUM(1);
	}
	TimestampTz vt =
		absolute ? TimestampArg(fcinfo, 2, "vt") : pg::PlusSeconds(GetCurrentTimestamp(), SecondsArg(fcinfo, 2, "vt"));
	return SetVt(fcinfo, &queue, ids, many, vt);
}

/*
 * Nack serves both nack overloads: msg_id (bigint) or msg_ids (bigint[]), delay_seconds (NULL: the
 * backoff policy; negative: 22023), error (NULL: none). Arguments are checked before the queue is locked.
 */
Datum
Nack(FunctionCallInfo fcinfo, bool many) {
	Datum ids;
	if (many)
		ids = PointerGetDatum(ArrayArg(fcinfo, 1, "msg_ids"));
	else {
		pg::ArgNotNull(fcinfo, 1, "msg_id");
		Datum element = PG_GETARG_DATUM(1);
		ids = PointerGetDatum(construct_array(&element, 1, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
	int32 delay = -1;
	if (!PG_ARGISNULL(2))
		delay = NonNegativeSecondsArg(fcinfo, 2, "delay_seconds");
	Jsonb *error = PG_ARGISNULL(3) ? nullptr : PG_GETARG_JSONB_P(3);
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kReadAccess);
	if (many)
		pg::BeginSetResult(fcinfo, true);
	int64 *nacked;
	uint64 n = pg::NackMessages(&queue, ids, delay, error, &nacked);
	if (!many)
		PG_RETURN_BOOL(n > 0);
	for (uint64 i = 0; i < n; i++)
		pg::PutInt8(fcinfo, nacked[i]);
	return (Datum)0;
}

/* LooksLikeInteger says whether s is optional blanks, an optional sign, digits, optional blanks. */
bool
LooksLikeInteger(const char *s) {
	while (*s == ' ')
		s++;
	if (*s == '+' || *s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	while (*s == ' ')
		s++;
	return *s == '\0';
}

} // namespace

PGMQ_FUNCTION(pgmq_delete) {
	return AckOne(fcinfo, pg::Ack::kDelete);
}
PGMQ_FUNCTION(pgmq_delete_batch) {
	return AckMany(fcinfo, pg::Ack::kDelete);
}
PGMQ_FUNCTION(pgmq_archive) {
	return AckOne(fcinfo, pg::Ack::kArchive);
}
PGMQ_FUNCTION(pgmq_archive_batch) {
	return AckMany(fcinfo, pg::Ack::kArchive);
}

PGMQ_FUNCTION(pgmq_nack) {
	return Nack(fcinfo, false);
}
PGMQ_FUNCTION(pgmq_nack_batch) {
	return Nack(fcinfo, true);
}

/* pgmq_archive_result serves archive(queue_name, msg_id, result): result (not NULL) kept in x-pgmq-result. */
PGMQ_FUNCTION(pgmq_archive_result) {
	pg::ArgNotNull(fcinfo, 1, "msg_id");
	pg::ArgNotNull(fcinfo, 2, "result");
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kDeleteAccess);
	PG_RETURN_BOOL(pg::ArchiveWithResult(&queue, PG_GETARG_INT64(1), PG_GETARG_JSONB_P(2)));
}

PGMQ_FUNCTION(pgmq_set_vt) {
	return SetVtTyped(fcinfo, false, false);
}
PGMQ_FUNCTION(pgmq_set_vt_at) {
	return SetVtTyped(fcinfo, false, true);
}
PGMQ_FUNCTION(pgmq_set_vt_batch) {
	return SetVtTyped(fcinfo, true, false);
}
PGMQ_FUNCTION(pgmq_set_vt_batch_at) {
	return SetVtTyped(fcinfo, true, true);
}

/*
 * pgmq_set_vt_text serves set_vt(text, text, text), the overload that
 * untyped parameters ($1, $2, $3 of unknown type, as sent by some drivers)
 * resolve to. msg_id is a bigint or a bigint[] literal ('{1,2}'); vt is a
 * number of seconds or a timestamptz literal.
 */
PGMQ_FUNCTION(pgmq_set_vt_text) {
	pg::Queue queue;
	pg::ResolveQueueArg(fcinfo, 0, &queue, pg::kReadAccess);
	pg::ArgNotNull(fcinfo, 1, "msg_id");
	pg::ArgNotNull(fcinfo, 2, "vt");
	char *id_text = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char *vt_text = text_to_cstring(PG_GETARG_TEXT_PP(2));

	bool many = strchr(id_text, '{') != nullptr;
	Datum ids;
	if (many) {
		/* array_in caches in fn_extra, so it needs a real FmgrInfo (DirectFunctionCall has none). */
		Oid input_fn;
		Oid io_param;
		getTypeInputInfo(INT8ARRAYOID, &input_fn, &io_param);
		ids = OidInputFunctionCall(input_fn, id_text, io_param, -1);
		ArrayType *array = DatumGetArrayTypeP(ids);
		if (ARR_NDIM(array) > 1 || array_contains_nulls(array))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("msg_ids must be a one-dimensional array without NULL elements")));
	} else
		ids = DirectFunctionCall1(int8in, CStringGetDatum(id_text));

	TimestampTz vt;
	if (LooksLikeInteger(vt_text)) {
		int32 seconds = DatumGetInt32(DirectFunctionCall1(int4in, CStringGetDatum(vt_text)));
		if (seconds < 0 && guc_strict_input)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("vt must not be negative")));
		/* A negative vt means now, as in PGMQ. */
		seconds = Max(seconds, 0);
		vt = pg::PlusSeconds(GetCurrentTimestamp(), seconds);
	} else {
		/* 'infinity' and '-infinity' are stored as they are, as by the timestamptz overloads. */
		vt = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(vt_text),
													 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	return SetVt(fcinfo, &queue, ids, many, vt);
}

} // namespace pgmq::api
