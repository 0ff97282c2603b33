/*
 * partitions.hpp: partitioned queues and archives (pgmq.create_partitioned, without pg_partman).
 *
 * Shell code. pgmq.partition_config lists the partitioned queue and archive tables; the SQL
 * function pgmq._maintain_partitions (sql/pgmq.sql) creates and drops their partitions. It always
 * runs as the table's owner (SwitchIdentity, pg/maintenance.hpp), called from three places:
 *  - the worker's pass and pgmq.run_maintenance (MaintainPartitions): premake partitions ahead of
 *    the current msg_id or time, and the drop of the partitions past the retention;
 *  - a statement that inserts into a partitioned table (ExecuteInsertPlan): when a row finds no
 *    partition (23514), the partition for it is created in the same transaction and the statement
 *    runs again, so a queue never overruns its partitions, whether the worker runs or not.
 * Partitions are made as tables of their own and then attached (SHARE UPDATE EXCLUSIVE on the
 * parent: sends and reads go on meanwhile); dropping one takes ACCESS EXCLUSIVE on the parent,
 * which the worker only takes when it is free at once.
 */
#pragma once

#include "pg/queue.hpp"

extern "C" {
#include "postgres.h"

#include "executor/spi.h"
}

namespace pgmq::pg {

/* PartitionAction is one partition created or dropped. */
struct PartitionAction {
	bool dropped;
	char partition[2 * NAMEDATALEN + 8]; /* pgmq.<name>, quoted as needed */
	int64 messages;                      /* rows dropped with it */
};

/* PartitionedTableNames returns the tables of pgmq.partition_config (SPI connected), allocated in cxt. */
int PartitionedTableNames(MemoryContext cxt, char ***tables);

/*
 * MaintainPartitions runs one maintenance step of a partitioned table (SPI connected) and returns how
 * many partitions it created or dropped, described in *actions (in cxt), and its queue's name in queue_name.
 * 0 when the table is gone, not partitioned, or the current user lacks its owner's privileges; without
 * wait also when someone holds a lock on it that conflicts with attaching a partition.
 */
int MaintainPartitions(const char *table, bool wait, MemoryContext cxt, PartitionAction **actions,
					   char queue_name[NAMEDATALEN]);

/*
 * ExecuteInsertPlan is ExecutePlan (read-write) for a statement that inserts into pgmq.<table> (a
 * queue's table or archive): when that table is partitioned it runs the statement in a
 * subtransaction and, if a row found no partition, creates it and runs the statement again. new_ids is how
 * many msg_ids the statement takes from the sequence (a send; 0 for moves, whose rows keep theirs): the
 * partitions for that many are made at once, so a retry with new msg_ids does not miss again.
 */
uint64 ExecuteInsertPlan(const char *table, SPIPlanPtr plan, Datum *values, const char *nulls, int64 new_ids);

} // namespace pgmq::pg
