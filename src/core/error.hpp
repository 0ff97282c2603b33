/*
 * error.hpp: the exception core code throws to report a user-facing error.
 *
 * pgmq::Error carries a category from a small enum instead of a PostgreSQL
 * SQLSTATE, so core code can say what went wrong without knowing PostgreSQL.
 * boundary.cpp maps each category to its SQLSTATE when it raises the error.
 */
#pragma once

#include <cstddef>
#include <cstdio>
#include <exception>

namespace pgmq {

enum class ErrorKind {
	kInvalidParameterValue,     /* 22023 */
	kNullValueNotAllowed,       /* 22004 */
	kUndefinedTable,            /* 42P01 */
	kProgramLimitExceeded,      /* 54000 */
	kInvalidTextRepresentation, /* 22P02 */
	kOutOfMemory,               /* 53200 */
	kRaiseException,            /* P0001: where PGMQ raises with RAISE EXCEPTION */
	kInternal,                  /* XX000: a bug in pgmq, never a user mistake */
};

/* Error is trivially copyable: its message lives in a fixed buffer. */
class Error : public std::exception {
public:
	static constexpr std::size_t kMessageSize = 256;

	template <typename... Args> Error(ErrorKind kind, const char *format, Args... args) : kind_(kind) {
		if constexpr (sizeof...(Args) == 0)
			std::snprintf(message_, sizeof(message_), "%s", format);
		else
			std::snprintf(message_, sizeof(message_), format, args...);
	}

	ErrorKind
	kind() const noexcept {
		return kind_;
	}

	const char *
	what() const noexcept override {
		return message_;
	}

private:
	ErrorKind kind_;
	char message_[kMessageSize];
};

} // namespace pgmq

#include "core/core_only.hpp"
