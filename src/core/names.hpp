/*
 * names.hpp: queue name rules (pure C++).
 *
 * By default (PGMQ's rules) a queue name is at most 47 characters and must
 * not contain "$", ";", "--" or "'" (P0001, as PGMQ's format_table_name and
 * validate_queue_name raise); pgmq also refuses non-ASCII and control
 * characters (their table names could exceed PostgreSQL's 63 bytes). With
 * strict (pgmq.strict_input) it is 1 to 47 characters from [A-Za-z0-9_-]
 * without "--" (22023). It is folded to ASCII lower case, so "Orders" and "orders" are the
 * same queue, stored once in pgmq.meta and backed by the tables pgmq.q_orders
 * and pgmq.a_orders; SQL always quotes the table names.
 * 47 leaves room under PostgreSQL's 63-byte identifier limit for the longest
 * derived name, "archived_at_idx_<name>".
 */
#pragma once

#include <cstddef>

namespace pgmq::core {

constexpr std::size_t kMaxQueueNameLength = 47;

/* A normalised name plus its terminating NUL. */
struct QueueName {
	char text[kMaxQueueNameLength + 1];
	std::size_t length;
};

/*
 * CheckQueueNameCharacters throws P0001 unless name[0..length) has PGMQ's characters (no $ ; -- ',
 * and printable ASCII only), whatever its length.
 */
void CheckQueueNameCharacters(const char *name, std::size_t length);

/* NormalizeQueueName validates name[0..length) and writes its lower-case form to out; throws pgmq::Error. */
void NormalizeQueueName(const char *name, std::size_t length, QueueName *out, bool strict = true);

} // namespace pgmq::core

#include "core/core_only.hpp"
