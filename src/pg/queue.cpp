/*
 * queue.cpp: queue name validation and lookup.
 */
#include "pg/queue.hpp"

#include "boundary.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace pgmq::pg {

void
QueueFromTextUnsafe(text *name, Queue *out) {
	const char *data = VARDATA_ANY(name);
	std::size_t length = VARSIZE_ANY_EXHDR(name);
	CallCpp(core::NormalizeQueueName, data, length, &out->name);
	snprintf(out->queue_table, NAMEDATALEN, "q_%s", out->name.text);
	snprintf(out->archive_table, NAMEDATALEN, "a_%s", out->name.text);
	out->queue_relid = InvalidOid;
}

void
ArgNotNullUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname) {
	if (PG_ARGISNULL(argno))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be NULL", argname)));
}

void
QueueFromArgUnsafe(FunctionCallInfo fcinfo, int argno, Queue *out) {
	ArgNotNullUnsafe(fcinfo, argno, "queue_name");
	QueueFromTextUnsafe(PG_GETARG_TEXT_PP(argno), out);
}

Oid
PgmqNamespaceUnsafe() {
	return get_namespace_oid("pgmq", false);
}

bool
LookupQueueUnsafe(Queue *queue, bool missing_ok, LOCKMODE lockmode) {
	if (lockmode == NoLock)
		queue->queue_relid = get_relname_relid(queue->queue_table, PgmqNamespaceUnsafe());
	else {
		RangeVar *relation = makeRangeVar(pstrdup("pgmq"), queue->queue_table, -1);
		queue->queue_relid = RangeVarGetRelidExtended(relation, lockmode, RVR_MISSING_OK, nullptr, nullptr);
	}
	if (!OidIsValid(queue->queue_relid) && !missing_ok)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("queue \"%s\" does not exist", queue->name.text),
		                errhint("Create it with pgmq.create('%s').", queue->name.text)));
	return OidIsValid(queue->queue_relid);
}

void
ResolveQueueArgUnsafe(FunctionCallInfo fcinfo, int argno, Queue *out, LOCKMODE lockmode) {
	QueueFromArgUnsafe(fcinfo, argno, out);
	LookupQueueUnsafe(out, false, lockmode);
}

} // namespace pgmq::pg
