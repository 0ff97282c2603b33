/*
 * queue.hpp: turning a queue_name argument into a checked, resolved queue.
 *
 * Shell code. Every SQL function that takes queue_name goes through
 * QueueFromArgUnsafe (validation, lower-casing, NULL check) and, when the
 * queue must exist, LookupQueueUnsafe (42P01 "queue ... does not exist").
 */
#pragma once

#include "core/names.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "storage/lockdefs.h"
}

namespace pgmq::pg {

/* Queue is plain data: the normalised name, its table names and the queue table's OID. */
struct Queue {
	core::QueueName name;
	char queue_table[NAMEDATALEN];   /* q_<name> */
	char archive_table[NAMEDATALEN]; /* a_<name> */
	Oid queue_relid;                 /* InvalidOid until looked up, or when missing */
};

/* QueueFromTextUnsafe validates and normalises a queue name given as text. */
void QueueFromTextUnsafe(text *name, Queue *out);

/* QueueFromArgUnsafe reads argument argno as a queue name; NULL raises 22004. */
void QueueFromArgUnsafe(FunctionCallInfo fcinfo, int argno, Queue *out);

/*
 * LookupQueueUnsafe fills queue_relid; raises 42P01 unless missing_ok. Returns whether the queue exists.
 * With a lockmode other than NoLock it locks the queue table first and looks the name up again after
 * waiting, so a queue dropped by a transaction it waited for is reported as missing (42P01 "queue ...
 * does not exist") instead of failing later inside a plan with an internal relation name.
 */
bool LookupQueueUnsafe(Queue *queue, bool missing_ok, LOCKMODE lockmode = NoLock);

/* PgmqNamespaceUnsafe returns the OID of schema pgmq. */
Oid PgmqNamespaceUnsafe();

/*
 * ResolveQueueArgUnsafe is QueueFromArgUnsafe plus LookupQueueUnsafe for an existing queue, locked in
 * lockmode: the lock the caller's statements take anyway (RowExclusiveLock for DML), so it is never upgraded.
 */
void ResolveQueueArgUnsafe(FunctionCallInfo fcinfo, int argno, Queue *out, LOCKMODE lockmode = RowExclusiveLock);

/* ArgNotNullUnsafe raises 22004 naming the argument when argument argno is NULL. */
void ArgNotNullUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname);

} // namespace pgmq::pg
