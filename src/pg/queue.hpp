/*
 * queue.hpp: turning a queue_name argument into a checked, resolved queue.
 *
 * Shell code. Every SQL function that takes queue_name goes through
 * QueueFromArg (validation, lower-casing, NULL check) and, when the
 * queue must exist, LookupQueue (42P01 "queue ... does not exist").
 *
 * Each operation says what it needs of the queue table (QueueAccess): the
 * lock its statements take and the privileges they check. The lookup checks
 * those privileges before it waits for the lock (42501), so a role that may
 * not use a queue never waits in its lock queue, where every later conflicting
 * lock (a send behind a purge) would wait behind it.
 */
#pragma once

#include "core/names.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/acl.h"
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

/*
 * QueueAccess is what an operation needs of a queue table: the lock its statements take anyway (so it is
 * never upgraded), every privilege in privileges, and with owner the privileges of the table's owner.
 * Column privileges count for SELECT, INSERT and UPDATE: the check never refuses what the statements
 * would allow, they still check the columns themselves.
 */
struct QueueAccess {
	LOCKMODE lockmode;
	AclMode privileges;
	bool owner;
	bool skip_locked; /* do not wait for the lock: a table someone else holds is treated as missing */
};

/* INSERT ... RETURNING msg_id: send, send_batch, the archive side of archive, policy moves into a queue. */
constexpr QueueAccess kSendAccess = {RowExclusiveLock, ACL_INSERT | ACL_SELECT, false};
/* UPDATE ... WHERE msg_id = ANY (SELECT ... FOR UPDATE) RETURNING: read, read_with_poll, set_vt. */
constexpr QueueAccess kReadAccess = {RowExclusiveLock, ACL_UPDATE | ACL_SELECT, false};
/* DELETE ... WHERE msg_id = ANY (SELECT ... FOR UPDATE) RETURNING: pop. */
constexpr QueueAccess kPopAccess = {RowExclusiveLock, ACL_DELETE | ACL_UPDATE | ACL_SELECT, false};
/* DELETE ... WHERE msg_id = $1 RETURNING msg_id: delete, the queue side of archive. */
constexpr QueueAccess kDeleteAccess = {RowExclusiveLock, ACL_DELETE | ACL_SELECT, false};
/* SELECT count(*) ...: metrics. */
constexpr QueueAccess kMetricsAccess = {AccessShareLock, ACL_SELECT, false};
/* SELECT count(*), then TRUNCATE: purge_queue. */
constexpr QueueAccess kPurgeAccess = {AccessExclusiveLock, ACL_SELECT | ACL_TRUNCATE, false};
/* CREATE INDEX on the queue table (create_fifo_index): ownership, the lock CREATE INDEX takes. */
constexpr QueueAccess kIndexAccess = {ShareLock, ACL_NO_RIGHTS, true};
/* DDL on the queue's tables (create, drop_queue, acquire_queue_lock): ownership; the advisory lock, no table lock. */
constexpr QueueAccess kAdminAccess = {NoLock, ACL_NO_RIGHTS, true};

/* QueueFromText validates and normalises a queue name given as text. */
void QueueFromText(text *name, Queue *out);

/* QueueFromArg reads argument argno as a queue name; NULL raises 22004. */
void QueueFromArg(FunctionCallInfo fcinfo, int argno, Queue *out);

/* LookupQueue fills queue_relid (no lock, no check); 42P01 unless missing_ok. Returns whether it exists. */
bool LookupQueue(Queue *queue, bool missing_ok);

/*
 * LookupQueue with an access first checks it on the queue table (42501), then locks the table in
 * access.lockmode and looks the name up again after waiting (checking again if it now names another
 * table), so a queue dropped by a transaction it waited for is reported as missing (42P01 "queue ...
 * does not exist") instead of failing later inside a plan with an internal relation name.
 */
bool LookupQueue(Queue *queue, bool missing_ok, QueueAccess access);

/*
 * CheckTableAccess raises 42501 unless the current user has access on table relid (a table that
 * is gone passes: the caller's lookup or statement reports it). It takes no lock.
 */
void CheckTableAccess(Oid relid, QueueAccess access);

/*
 * CheckQueueAdmin raises 42501 unless the current user may administer the queue: have the
 * privileges of its owner when it exists (kAdminAccess), else CREATE on schema pgmq, which creating it
 * needs. Fills queue_relid. Called before and after taking PGMQ's advisory lock for the name.
 */
void CheckQueueAdmin(Queue *queue);

/* PgmqNamespace returns the OID of schema pgmq. */
Oid PgmqNamespace();

/*
 * ResolveQueueArg is QueueFromArg plus LookupQueue with access for an existing queue;
 * a name longer than 47 characters is 42P01 there, as in PGMQ (strict: 22023).
 */
void ResolveQueueArg(FunctionCallInfo fcinfo, int argno, Queue *out, QueueAccess access);

/* ArgNotNull raises 22004 naming the argument when argument argno is NULL. */
void ArgNotNull(FunctionCallInfo fcinfo, int argno, const char *argname);

} // namespace pgmq::pg
