/*
 * selftest.cpp: exceptions of every kind, thrown on request, for pgmq._boundary_selftest().
 */
#include "core/selftest.hpp"

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace pgmq::core {

int
ThrowForTest(const char *kind) {
	/* An object with a destructor, alive while the exception propagates. */
	std::string owned(kind);
	if (owned == "invalid")
		throw Error(ErrorKind::kInvalidParameterValue, "selftest: invalid parameter value");
	if (owned == "null")
		throw Error(ErrorKind::kNullValueNotAllowed, "selftest: null value");
	if (owned == "oom")
		throw std::bad_alloc();
	if (owned == "std")
		throw std::runtime_error("selftest: std::runtime_error");
	if (owned == "int")
		throw 42;
	return static_cast<int>(owned.size());
}

} // namespace pgmq::core
