/*
 * names.cpp: validation and normalisation of queue names.
 */
#include "core/names.hpp"

#include "core/error.hpp"

namespace pgmq::core {

namespace {

bool
IsAllowed(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

} // namespace

void
NormalizeQueueName(const char *name, std::size_t length, QueueName *out) {
	if (length == 0)
		throw Error(ErrorKind::kInvalidParameterValue, "queue name must not be empty");
	for (std::size_t i = 0; i < length; i++) {
		if (!IsAllowed(name[i]))
			throw Error(
				ErrorKind::kInvalidParameterValue,
				"queue name contains invalid characters: only ASCII letters, digits, \"_\" and \"-\" are allowed");
	}
	if (length > kMaxQueueNameLength)
		throw Error(ErrorKind::kInvalidParameterValue, "queue name is too long, maximum length is %zu characters",
					kMaxQueueNameLength);
	for (std::size_t i = 0; i < length; i++) {
		char c = name[i];
		out->text[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
	}
	out->text[length] = '\0';
	out->length = length;
}

} // namespace pgmq::core
