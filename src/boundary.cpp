/*
 * boundary.cpp: raising errors carried out of core code.
 */
#include "boundary.hpp"

#include <cstring>

namespace pgmq {

void
RecordException(CaughtError *error) noexcept {
	try {
		throw;
	} catch (const Error &e) {
		error->kind = e.kind();
		strlcpy(error->message, e.what(), sizeof(error->message));
	} catch (const std::bad_alloc &) {
		error->kind = ErrorKind::kOutOfMemory;
		strlcpy(error->message, "out of memory", sizeof(error->message));
	} catch (const std::exception &e) {
		error->kind = ErrorKind::kInternal;
		strlcpy(error->message, e.what(), sizeof(error->message));
	} catch (...) {
		error->kind = ErrorKind::kInternal;
		strlcpy(error->message, "unknown C++ exception", sizeof(error->message));
	}
}

static int
SqlStateOf(ErrorKind kind) {
	switch (kind) {
	case ErrorKind::kInvalidParameterValue:
		return ERRCODE_INVALID_PARAMETER_VALUE;
	case ErrorKind::kNullValueNotAllowed:
		return ERRCODE_NULL_VALUE_NOT_ALLOWED;
	case ErrorKind::kUndefinedTable:
		return ERRCODE_UNDEFINED_TABLE;
	case ErrorKind::kProgramLimitExceeded:
		return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	case ErrorKind::kInvalidTextRepresentation:
		return ERRCODE_INVALID_TEXT_REPRESENTATION;
	case ErrorKind::kOutOfMemory:
		return ERRCODE_OUT_OF_MEMORY;
	case ErrorKind::kRaiseException:
		return ERRCODE_RAISE_EXCEPTION;
	case ErrorKind::kInternal:
		break;
	}
	return ERRCODE_INTERNAL_ERROR;
}

void
RaiseCaughtError(const CaughtError *error) {
	ereport(ERROR, (errcode(SqlStateOf(error->kind)), errmsg("%s", error->message)));
	pg_unreachable();
}

} // namespace pgmq
