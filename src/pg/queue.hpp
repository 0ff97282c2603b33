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

/* LookupQueueUnsafe fills queue_relid; raises 42P01 unless missing_ok. Returns whether the queue exists. */
bool LookupQueueUnsafe(Queue *queue, bool missing_ok);

/* PgmqNamespaceUnsafe returns the OID of schema pgmq. */
Oid PgmqNamespaceUnsafe();

/* ResolveQueueArgUnsafe is QueueFromArgUnsafe plus LookupQueueUnsafe for an existing queue. */
void ResolveQueueArgUnsafe(FunctionCallInfo fcinfo, int argno, Queue *out);

/* ArgNotNullUnsafe raises 22004 naming the argument when argument argno is NULL. */
void ArgNotNullUnsafe(FunctionCallInfo fcinfo, int argno, const char *argname);

} // namespace pgmq::pg
