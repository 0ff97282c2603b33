/*
 * selftest.cpp: pgmq._boundary_selftest(kind), which makes core code throw.
 *
 * It proves that every kind of C++ exception leaves core code as an ordinary
 * PostgreSQL error with the right SQLSTATE and the session keeps working.
 * Not granted to PUBLIC.
 */
#include "boundary.hpp"
#include "core/selftest.hpp"
#include "pg/queue.hpp"

extern "C" {
#include "utils/builtins.h"
}

PGMQ_FUNCTION(pgmq_boundary_selftest) {
	pgmq::pg::ArgNotNull(fcinfo, 0, "kind");
	const char *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PG_RETURN_INT32(pgmq::CallCpp(pgmq::core::ThrowForTest, kind));
}
