/*
 * names_test.cpp: unit tests of queue name validation and folding (src/core/names.cpp).
 * Built with AddressSanitizer and UBSan and run by test/core/run.sh (the core suite).
 */
#include "core/names.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.hpp"

using pgmq::Error;
using pgmq::ErrorKind;
using pgmq::core::kMaxQueueNameLength;
using pgmq::core::NormalizeQueueName;
using pgmq::core::QueueName;

namespace {

int failures = 0;

#define EXPECT(cond)                                                                                                   \
	do {                                                                                                               \
		if (!(cond)) {                                                                                                 \
			std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                                   \
			failures++;                                                                                                \
		}                                                                                                              \
	} while (0)

/* Accepts normalises name (exactly its bytes, no terminating NUL needed) and expects it to give folded. */
void
Accepts(const std::string &name, const char *folded, bool strict = true) {
	/* A copy in a buffer of exactly name.size() bytes, so reading past it is an ASan error. */
	char *exact = new char[name.size()];
	std::memcpy(exact, name.data(), name.size());
	QueueName out;
	std::memset(&out, 0x7f, sizeof(out));
	try {
		NormalizeQueueName(exact, name.size(), &out, strict);
		EXPECT(out.length == name.size());
		EXPECT(out.text[out.length] == '\0');
		EXPECT(std::strcmp(out.text, folded) == 0);
	} catch (const Error &e) {
		std::fprintf(stderr, "unexpected error for \"%s\": %s\n", name.c_str(), e.what());
		failures++;
	}
	delete[] exact;
}

/* Rejects expects name to be refused with 22023 (PGMQ's rules, not strict: P0001) and a message containing what. */
void
Rejects(const std::string &name, const char *what, bool strict = true) {
	char *exact = new char[name.size()];
	std::memcpy(exact, name.data(), name.size());
	QueueName out;
	bool thrown = false;
	try {
		NormalizeQueueName(exact, name.size(), &out, strict);
	} catch (const Error &e) {
		thrown = true;
		EXPECT(e.kind() == (strict ? ErrorKind::kInvalidParameterValue : ErrorKind::kRaiseException));
		if (std::strstr(e.what(), what) == nullptr) {
			std::fprintf(stderr, "message for a %zu-byte name: \"%s\", expected \"%s\" in it\n", name.size(), e.what(),
						 what);
			failures++;
		}
	}
	if (!thrown) {
		std::fprintf(stderr, "a %zu-byte name was accepted\n", name.size());
		failures++;
	}
	delete[] exact;
}

/* TestValid covers the accepted characters, folding and the longest name. */
void
TestValid() {
	Accepts("orders", "orders");
	Accepts("Orders", "orders");
	Accepts("A-Z_a-z_0-9", "a-z_a-z_0-9");
	Accepts("-", "-");
	Accepts("_", "_");
	Accepts("0", "0");
	Rejects("--", "$, ;, --, or '"); /* PGMQ refuses it: so does strict */
	Accepts("-_-", "-_-");
	Accepts(std::string(kMaxQueueNameLength, 'Q'), std::string(kMaxQueueNameLength, 'q').c_str());
	/* 47 leaves room for "archived_at_idx_" + name under NAMEDATALEN - 1 = 63 bytes. */
	EXPECT(std::strlen("archived_at_idx_") + kMaxQueueNameLength <= 63);
}

/* TestInvalid covers empty, too long, and every byte that is not allowed. */
void
TestInvalid() {
	Rejects("", "must not be empty");
	Rejects(std::string(kMaxQueueNameLength + 1, 'a'), "too long, maximum length is 47 characters");
	Rejects(std::string(100000, 'a'), "too long");
	Rejects("bad name", "invalid characters");
	Rejects("a;b", "invalid characters");
	Rejects("a'b", "invalid characters");
	Rejects("a\"b", "invalid characters");
	Rejects("a$b", "invalid characters");
	Rejects("a.b", "invalid characters");
	Rejects(std::string("a\0b", 3), "invalid characters");  /* a NUL inside the text */
	Rejects(std::string("abc\0", 4), "invalid characters"); /* a NUL at its end */
	Rejects("na\xc3\xafve", "invalid characters");          /* UTF-8: bytes above 0x7f (negative char) */
	Rejects("\xff", "invalid characters");
	Rejects(std::string(100000, '\x80'), "invalid characters"); /* invalid and too long: the characters win */
	for (int c = 0; c < 256; c++) {
		bool allowed =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!allowed)
			Rejects(std::string(1, static_cast<char>(c)), "invalid characters");
	}
}

/* TestPgmqRules covers PGMQ's rules (not strict): everything printable but $ ; -- ' up to 47 characters. */
void
TestPgmqRules() {
	Accepts("", "", false);
	Accepts("Bad Name.x", "bad name.x", false);
	Accepts("a-b", "a-b", false);
	Accepts("a\"b", "a\"b", false);
	Accepts(std::string(kMaxQueueNameLength, 'X'), std::string(kMaxQueueNameLength, 'x').c_str(), false);
	Rejects("a;b", "$, ;, --, or '", false);
	Rejects("a'b", "$, ;, --, or '", false);
	Rejects("a$b", "$, ;, --, or '", false);
	Rejects("a--b", "$, ;, --, or '", false);
	Rejects(std::string(kMaxQueueNameLength + 1, 'a'), "too long, maximum length is 47 characters", false);
	Rejects(std::string(100000, ';'), "$, ;, --, or '", false); /* PGMQ's character check comes first */
	Rejects("na\xc3\xafve", "only printable ASCII", false);
	Rejects(std::string("a\0b", 3), "only printable ASCII", false);
	Rejects("a\tb", "only printable ASCII", false);
	pgmq::core::CheckQueueNameCharacters(std::string(100, 'a').data(), 100); /* any length */
	bool thrown = false;
	try {
		pgmq::core::CheckQueueNameCharacters("a;b", 3);
	} catch (const Error &e) {
		thrown = e.kind() == ErrorKind::kRaiseException;
	}
	EXPECT(thrown);
}

} // namespace

int
main() {
	TestValid();
	TestInvalid();
	TestPgmqRules();
	if (failures > 0) {
		std::fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	std::printf("all tests passed\n");
	return 0;
}
