/*
 * boundary.hpp: the one place where C++ and PostgreSQL error handling meet.
 *
 * THE RULE. PostgreSQL reports errors with ereport(), which longjmps; C++
 * reports them with exceptions, which unwind. Neither may cross the other:
 *
 *  1. Shell code (src/api, src/pg, src/worker, src/pgmq.cpp, src/guc.cpp)
 *     talks to PostgreSQL and is written like PostgreSQL C compiled as C++:
 *     every automatic object is trivially destructible (pointers, Datums,
 *     PODs, StringInfoData, fixed arrays). No std::string, no containers, no
 *     smart pointers. A longjmp over such a frame skips nothing.
 *  2. Core code (src/core) is ordinary C++ and never includes postgres.h
 *     (core_only.hpp enforces it), so it cannot ereport or longjmp.
 *  3. Shell code enters core only through pgmq::CallCpp(fn, args...). It
 *     runs fn inside try/catch; a handler only copies the error into a
 *     fixed-size POD. Only after every C++ scope has unwound does CallCpp
 *     raise it with ereport(ERROR) and the right SQLSTATE. Arguments and
 *     results crossing are trivially copyable.
 *  4. Every SQL-callable function is declared with PGMQ_FUNCTION(name): an
 *     extern "C" V1 function whose body is shell code.
 *
 * So no C++ exception ever reaches a PostgreSQL frame, and no ereport ever
 * skips a C++ destructor.
 *
 * HAZARD NAMES. The layer is the mark, not the name: every shell function
 * may ereport (almost all of them touch a catalog, a table or palloc), and
 * no core function can. Names therefore carry no "Unsafe" suffix; a shell
 * function that must not raise (a callback run where an ERROR would PANIC)
 * says so in its comment, and a core function called from shell without
 * CallCpp must be noexcept.
 */
#pragma once

#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "core/error.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

/* PGMQ_FUNCTION declares and begins the definition of a SQL-callable function. */
#define PGMQ_FUNCTION(name)                                                                                            \
	extern "C" {                                                                                                       \
	PG_FUNCTION_INFO_V1(name);                                                                                         \
	}                                                                                                                  \
	extern "C" Datum name(PG_FUNCTION_ARGS)

namespace pgmq {

/* CaughtError is what a catch handler records: plain data, no destructor. */
struct CaughtError {
	ErrorKind kind;
	char message[Error::kMessageSize];
};

/* RaiseCaughtError raises the recorded error with ereport(ERROR); never returns. */
pg_attribute_noreturn() void RaiseCaughtError(const CaughtError *error);

/* RecordException stores the exception currently being handled into *error (called inside catch only). */
void RecordException(CaughtError *error) noexcept;

/*
 * CallCpp runs core code fn(args...) and turns any exception it throws into
 * an ereport(ERROR) raised after the C++ frames have unwound.
 */
template <typename Fn, typename... Args>
auto
CallCpp(Fn &&fn, Args &&...args) -> decltype(fn(std::forward<Args>(args)...)) {
	using Result = decltype(fn(std::forward<Args>(args)...));
	static_assert(std::is_void_v<Result> || std::is_trivially_copyable_v<Result>,
				  "results crossing the boundary must be trivially copyable");
	CaughtError error;
#ifdef USE_ASSERT_CHECKING
	sigjmp_buf *saved_stack = PG_exception_stack;
#endif
	try {
		return fn(std::forward<Args>(args)...);
	} catch (...) {
		RecordException(&error);
	}
	Assert(PG_exception_stack == saved_stack);
	RaiseCaughtError(&error);
}

} // namespace pgmq
