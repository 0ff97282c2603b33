/*
 * queue.cpp: queue name validation and lookup.
 */
#include "pg/queue.hpp"

#include "boundary.hpp"
#include "guc.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include "compat.hpp"

namespace pgmq::pg {

void
QueueFromText(text *name, Queue *out) {
	const char *data = VARDATA_ANY(name);
	std::size_t length = VARSIZE_ANY_EXHDR(name);
	CallCpp(core::NormalizeQueueName, data, length, &out->name, guc_strict_input);
	snprintf(out->queue_table, NAMEDATALEN, "q_%s", out->name.text);
	snprintf(out->archive_table, NAMEDATALEN, "a_%s", out->name.text);
	out->queue_relid = InvalidOid;
}

void
ArgNotNull(FunctionCallInfo fcinfo, int argno, const char *argname) {
	if (PG_ARGISNULL(argno))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be NULL", argname)));
}

void
QueueFromArg(FunctionCallInfo fcinfo, int argno, Queue *out) {
	ArgNotNull(fcinfo, argno, "queue_name");
	QueueFromText(PG_GETARG_TEXT_PP(argno), out);
}

Oid
PgmqNamespace() {
	return get_namespace_oid("pgmq", false);
}

namespace {

/* MissingQueue raises 42P01 for a queue that does not exist. */
void
MissingQueue(const Queue *queue) {
	ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("queue \"%s\" does not exist", queue->name.text),
					errhint("Create it with pgmq.create('%s').", queue->name.text)));
}

/*
 * IsTable says whether relid is a table. q_<name> may name another queue's index or sequence (queue
 * "x_pkey" and the primary key q_x_pkey of queue "x"): such a relation is no queue, and is reported as one
 * that does not exist (42P01), not with errors about indexes and sequences.
 */
bool
IsTable(Oid relid) {
	char relkind = get_rel_relkind(relid);
	return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE;
}

} // namespace

bool
LookupQueue(Queue *queue, bool missing_ok) {
	queue->queue_relid = get_relname_relid(queue->queue_table, PgmqNamespace());
	if (OidIsValid(queue->queue_relid) && !IsTable(queue->queue_relid))
		queue->queue_relid = InvalidOid;
	if (!OidIsValid(queue->queue_relid) && !missing_ok)
		MissingQueue(queue);
	return OidIsValid(queue->queue_relid);
}

namespace {

/*
 * CheckRelation is CheckTableAccess reading pg_class once: it returns false, checking
 * nothing, for a relation that is gone or is no table (see IsTable); else checks access (42501) and
 * returns true.
 */
bool
CheckRelation(Oid relid, QueueAccess access) {
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return false;
	Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
	if (form->relkind != RELKIND_RELATION && form->relkind != RELKIND_PARTITIONED_TABLE) {
		ReleaseSysCache(tuple);
		return false;
	}
	Oid owner = form->relowner;
	char *relname = pstrdup(NameStr(form->relname));
	ReleaseSysCache(tuple);
	Oid user = GetUserId();
	if (access.owner && !has_privs_of_role(user, owner))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, relname);
	bool is_missing = false;
	AclMode held = pg_class_aclmask_ext(relid, user, access.privileges, ACLMASK_ALL, &is_missing);
	AclMode lacking = access.privileges & ~held;
	/* A privilege on some column is enough here: the statement checks the columns it uses. */
	constexpr AclMode kColumnPrivileges[] = {ACL_SELECT, ACL_INSERT, ACL_UPDATE};
	for (AclMode privilege : kColumnPrivileges) {
		if ((lacking & privilege) != 0 && pg_attribute_aclcheck_all(relid, user, privilege, ACLMASK_ANY) == ACLCHECK_OK)
			lacking &= ~privilege;
	}
	if (!is_missing && lacking != 0)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, relname);
	return !is_missing;
}

} // namespace

void
CheckTableAccess(Oid relid, QueueAccess access) {
	(void)CheckRelation(relid, access);
}

namespace {

/* AccessCheck is what CheckAccessCallback was given and learnt: the relation it last looked at. */
struct AccessCheck {
	const QueueAccess *access;
	Oid relid;
	bool is_table;
};

/*
 * CheckAccessCallback is the RangeVarGetRelidExtended callback of LookupQueue: it runs before
 * each attempt to lock, and checks the access whenever the name resolves to another relation than
 * before, noting whether it is a table.
 */
void
CheckAccessCallback(const RangeVar *, Oid relid, Oid old_relid, void *arg) {
	AccessCheck *check = static_cast<AccessCheck *>(arg);
	if (OidIsValid(relid) && relid != old_relid) {
		check->relid = relid;
		check->is_table = CheckRelation(relid, *check->access);
	}
}

} // namespace

bool
LookupQueue(Queue *queue, bool missing_ok, QueueAccess access) {
	RangeVar *relation = makeRangeVar(pstrdup("pgmq"), queue->queue_table, -1);
	AccessCheck check = {&access, InvalidOid, false};
	queue->queue_relid =
		RangeVarGetRelidExtended(relation, access.lockmode, RVR_MISSING_OK | (access.skip_locked ? RVR_SKIP_LOCKED : 0),
								 CheckAccessCallback, &check);
	bool is_table = queue->queue_relid == check.relid ? check.is_table : IsTable(queue->queue_relid);
	if (OidIsValid(queue->queue_relid) && !is_table)
		queue->queue_relid = InvalidOid;
	if (!OidIsValid(queue->queue_relid) && !missing_ok)
		MissingQueue(queue);
	return OidIsValid(queue->queue_relid);
}

void
CheckQueueAdmin(Queue *queue) {
	if (LookupQueue(queue, true, kAdminAccess))
		return;
	Oid pgmq = PgmqNamespace();
	if (PGMQ_NAMESPACE_ACLCHECK(pgmq, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_SCHEMA, "pgmq");
}

void
ResolveQueueArg(FunctionCallInfo fcinfo, int argno, Queue *out, QueueAccess access) {
	if (!guc_strict_input && !PG_ARGISNULL(argno)) {
		/*
		 * PGMQ checks the length only when creating a queue: to every other function a longer name
		 * with valid characters is a queue that does not exist (42P01).
		 */
		text *name = PG_GETARG_TEXT_PP(argno);
		std::size_t length = VARSIZE_ANY_EXHDR(name);
		if (length > core::kMaxQueueNameLength) {
			CallCpp(core::CheckQueueNameCharacters, VARDATA_ANY(name), length);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE), errmsg("queue \"%s\" does not exist", text_to_cstring(name)),
					 errdetail("A queue name has at most %zu characters.", core::kMaxQueueNameLength)));
		}
	}
	QueueFromArg(fcinfo, argno, out);
	LookupQueue(out, false, access);
}

} // namespace pgmq::pg
