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

/* CheckPgmqRules applies PGMQ's rules (see names.hpp) to name[0..length); throws P0001. */
void
CheckPgmqRules(const char *name, std::size_t length) {
	CheckQueueNameCharacters(name, length);
	if (length > kMaxQueueNameLength)
		throw Error(ErrorKind::kRaiseException, "queue name is too long, maximum length is %zu characters",
					kMaxQueueNameLength);
}

} // namespace

void
CheckQueueNameCharacters(const char *name, std::size_t length) {
	for (std::size_t i = 0; i < length; i++) {
		char c = name[i];
		if (c == '$' || c == ';' || c == '\'' || (c == '-' && i + 1 < length && name[i + 1] == '-'))
			throw Error(ErrorKind::kRaiseException, "queue name contains invalid characters: $, ;, --, or '");
	}
	for (std::size_t i = 0; i < length; i++) {
		unsigned char c = static_cast<unsigned char>(name[i]);
		if (c < 0x20 || c >= 0x7f)
			throw Error(ErrorKind::kRaiseException,
						"queue name contains invalid characters: only printable ASCII characters are allowed");
	}
}

void
NormalizeQueueName(const char *name, std::size_t length, QueueName *out, bool strict) {
	if (!strict)
		CheckPgmqRules(name, length);
	if (strict && length == 0)
		throw Error(ErrorKind::kInvalidParameterValue, "queue name must not be empty");
	for (std::size_t i = 0; strict && i < length; i++) {
		if (!IsAllowed(name[i]))
			throw Error(
				ErrorKind::kInvalidParameterValue,
				"queue name contains invalid characters: only ASCII letters, digits, \"_\" and \"-\" are allowed");
	}
	/* Strict refuses what PGMQ refuses too: "--" (the other characters are refused above). */
	for (std::size_t i = 0; strict && i + 1 < length; i++) {
		if (name[i] == '-' && name[i + 1] == '-')
			throw Error(ErrorKind::kInvalidParameterValue, "queue name contains invalid characters: $, ;, --, or '");
	}
	if (strict && length > kMaxQueueNameLength)
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
