/*
 * routing_test.cpp: unit tests of topic routing (src/core/routing.cpp): key and pattern checks,
 * "*" and "#" in every position, wildcards inside segments (PGMQ's regex semantics, checked
 * against a backtracking reading of its regex), and 1,000 patterns against that reading.
 * Built with AddressSanitizer and UBSan and run by test/worker/test_core.py.
 */
#include "core/routing.hpp"

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using pgmq::core::BuildRouter;
using pgmq::core::CheckRoutingKey;
using pgmq::core::CheckTopicPattern;
using pgmq::core::MatchRoutingKey;
using pgmq::core::Router;
using pgmq::core::RouterSize;
using pgmq::core::TopicPattern;
using pgmq::core::TopicProblem;

namespace {

int failures = 0;

#define EXPECT(cond)                                                                                                   \
	do {                                                                                                               \
		if (!(cond)) {                                                                                                 \
			std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                                   \
			failures++;                                                                                                \
		}                                                                                                              \
	} while (0)

/* Compiled owns a router built from patterns, in a buffer of exactly RouterSize bytes. */
struct Compiled {
	std::vector<std::string> texts;
	std::vector<TopicPattern> patterns;
	std::vector<std::max_align_t> buffer;
	const Router *router;

	explicit Compiled(const std::vector<std::string> &p) : texts(p) {
		for (const std::string &t : texts)
			patterns.push_back(TopicPattern{t.data(), static_cast<std::uint32_t>(t.size())});
		std::size_t size = RouterSize(patterns.data(), static_cast<std::uint32_t>(patterns.size()));
		buffer.resize(size / sizeof(std::max_align_t) + 1);
		router = BuildRouter(buffer.data(), size, patterns.data(), static_cast<std::uint32_t>(patterns.size()));
	}

	std::vector<std::uint32_t>
	Match(const std::string &key) const {
		/* key copied to a buffer of exactly its size: reading past it is an ASan error */
		std::vector<char> exact(key.begin(), key.end());
		std::vector<std::uint32_t> out(router->pattern_count + 1, 0xdeadbeef);
		std::uint32_t n = MatchRoutingKey(router, exact.data(), exact.size(), out.data());
		EXPECT(out[router->pattern_count] == 0xdeadbeef);
		out.resize(n);
		return out;
	}
};

bool
Single(const std::string &pattern, const std::string &key) {
	Compiled c({pattern});
	return !c.Match(key).empty();
}

#define MATCHES(p, k) EXPECT(Single(p, k))
#define NO_MATCH(p, k) EXPECT(!Single(p, k))

TopicProblem
Key(const std::string &s) {
	return CheckRoutingKey(s.data(), s.size(), s.size());
}

TopicProblem
Pattern(const std::string &s) {
	return CheckTopicPattern(s.data(), s.size(), s.size());
}

void
TestChecks() {
	EXPECT(Key("logs.error") == TopicProblem::kNone);
	EXPECT(Key("app.user-service.auth_1") == TopicProblem::kNone);
	EXPECT(Key("") == TopicProblem::kEmpty);
	EXPECT(Key(std::string(255, 'a')) == TopicProblem::kNone);
	EXPECT(Key(std::string(256, 'a')) == TopicProblem::kTooLong);
	EXPECT(CheckRoutingKey("ab", 2, 256) == TopicProblem::kTooLong); /* characters, not bytes, count */
	EXPECT(Key("logs error") == TopicProblem::kInvalidCharacters);
	EXPECT(Key("logs.*") == TopicProblem::kInvalidCharacters);
	EXPECT(Key("logs.#") == TopicProblem::kInvalidCharacters);
	EXPECT(Key("caf\xc3\xa9") == TopicProblem::kInvalidCharacters);
	EXPECT(Key(std::string("a\0b", 3)) == TopicProblem::kInvalidCharacters);
	EXPECT(Key(".logs") == TopicProblem::kLeadingDot);
	EXPECT(Key("logs.") == TopicProblem::kTrailingDot);
	EXPECT(Key(".") == TopicProblem::kLeadingDot);
	EXPECT(Key("logs..error") == TopicProblem::kConsecutiveDots);
	/* PGMQ's order: characters before dots */
	EXPECT(Key(".a!") == TopicProblem::kInvalidCharacters);

	EXPECT(Pattern("logs.*") == TopicProblem::kNone);
	EXPECT(Pattern("#") == TopicProblem::kNone);
	EXPECT(Pattern("*.#.x") == TopicProblem::kNone);
	EXPECT(Pattern("log*") == TopicProblem::kNone);
	EXPECT(Pattern("#.#") == TopicProblem::kNone);
	EXPECT(Pattern("") == TopicProblem::kEmpty);
	EXPECT(Pattern(std::string(256, '*')) == TopicProblem::kTooLong);
	EXPECT(Pattern("logs.error!") == TopicProblem::kInvalidCharacters);
	EXPECT(Pattern(".logs.*") == TopicProblem::kLeadingDot);
	EXPECT(Pattern("logs.*.") == TopicProblem::kTrailingDot);
	EXPECT(Pattern("logs..error") == TopicProblem::kConsecutiveDots);
	EXPECT(Pattern("logs.**") == TopicProblem::kConsecutiveStars);
	EXPECT(Pattern("logs.##") == TopicProblem::kConsecutiveHashes);
	EXPECT(Pattern("logs.*#") == TopicProblem::kAdjacentWildcards);
	EXPECT(Pattern("logs.#*") == TopicProblem::kAdjacentWildcards);
	/* dots before wildcards, as in PGMQ */
	EXPECT(Pattern("**.") == TopicProblem::kTrailingDot);
}

void
TestSegments() {
	MATCHES("logs.error", "logs.error");
	NO_MATCH("logs.error", "logs.errors");
	NO_MATCH("logs.error", "logs");
	NO_MATCH("logs.error", "logs.error.x");
	NO_MATCH("logs", "logs.error");

	/* * is exactly one segment */
	MATCHES("*", "a");
	NO_MATCH("*", "a.b");
	MATCHES("logs.*", "logs.error");
	NO_MATCH("logs.*", "logs");
	NO_MATCH("logs.*", "logs.a.b");
	MATCHES("*.error", "db.error");
	NO_MATCH("*.error", "error");
	MATCHES("a.*.c", "a.b.c");
	NO_MATCH("a.*.c", "a.c");
	MATCHES("*.*", "a.b");
	NO_MATCH("*.*", "a");

	/* # is one or more segments, as PGMQ's regex (".*" between literal dots) matches valid keys */
	NO_MATCH("logs.#", "logs");
	MATCHES("logs.#", "logs.error");
	MATCHES("logs.#", "logs.api.error");
	NO_MATCH("logs.#", "log");
	NO_MATCH("logs.#", "app.logs");
	NO_MATCH("#.error", "error");
	MATCHES("#.error", "app.error");
	MATCHES("#.error", "x.y.error");
	NO_MATCH("#.error", "error.x");
	NO_MATCH("a.#.b", "a.b");
	MATCHES("a.#.b", "a.x.b");
	MATCHES("a.#.b", "a.x.y.z.b");
	NO_MATCH("a.#.b", "a.x.c");
	NO_MATCH("a.#.b", "b");
	MATCHES("#", "a");
	MATCHES("#", "a.b.c");
	NO_MATCH("#.#", "a");
	MATCHES("#.#", "a.b");
	NO_MATCH("#.a.#", "a");
	NO_MATCH("#.a.#", "x.a");
	MATCHES("#.a.#", "x.a.y.z");
	NO_MATCH("#.a.#", "x.b.y");
	NO_MATCH("a.#.b.#.c", "a.b.c");
	MATCHES("a.#.b.#.c", "a.1.b.2.3.c");
	NO_MATCH("a.#.b.#.c", "a.c.b");
	/* # and * together */
	NO_MATCH("app.*.#", "app.x");
	MATCHES("app.*.#", "app.x.y");
	MATCHES("app.*.#", "app.x.y.z");
	NO_MATCH("app.*.#", "app");
	NO_MATCH("#.*", "a");
	MATCHES("#.*", "a.b");
	MATCHES("*.#.*", "a.b.c");
	NO_MATCH("*.#.*", "a.b");

	/* empty segments (a pattern stored without validation) never match a valid key */
	NO_MATCH("a..b", "a.b");
	NO_MATCH("a.", "a");
	MATCHES("a..b", "a..b");
}

/*
 * PgmqGlob is a plain backtracking reading of PGMQ's compiled_regex: "*" is [^.]+, "#" is .*,
 * any other character matches itself.
 */
bool
PgmqGlob(const std::string &p, std::size_t i, const std::string &k, std::size_t j) {
	if (i == p.size())
		return j == k.size();
	if (p[i] == '#') {
		for (std::size_t end = j; end <= k.size(); end++)
			if (PgmqGlob(p, i + 1, k, end))
				return true;
		return false;
	}
	if (p[i] == '*') {
		for (std::size_t end = j + 1; end <= k.size() && k[end - 1] != '.'; end++)
			if (PgmqGlob(p, i + 1, k, end))
				return true;
		return false;
	}
	return j < k.size() && k[j] == p[i] && PgmqGlob(p, i + 1, k, j + 1);
}

void
TestGlob() {
	/* a wildcard inside a segment: PGMQ's regex semantics */
	MATCHES("log*", "logs");
	NO_MATCH("log*", "log");
	NO_MATCH("log*", "logs.x");
	MATCHES("log#", "log");
	MATCHES("log#", "logs.x.y");
	MATCHES("a*b.c", "axxb.c");
	NO_MATCH("a*b.c", "ab.c");
	MATCHES("a#b", "a.x.b");
	MATCHES("x.*y.#", "x.ay.b");
	NO_MATCH("x.*y.#", "x.ay"); /* in a glob pattern, .# needs the dot, as PGMQ's regex does */

	/* every glob pattern against every key of a small alphabet: the same answer as PGMQ's regex (read by PgmqGlob) */
	const std::vector<std::string> globs = {"a*",   "*a",   "a#",     "#a",  "a*b",   "a#b",   "*a*",  "a.*b",
											"#b.*", "a*.#", "*x.#.b", "#a#", "a*.*b", "x#.#y", "a-*_#"};
	std::vector<std::string> keys;
	const char alphabet[] = {'a', 'b', 'x', '.'};
	for (int len = 1; len <= 5; len++) {
		int total = 1;
		for (int i = 0; i < len; i++)
			total *= 4;
		for (int code = 0; code < total; code++) {
			std::string k;
			for (int i = 0, c = code; i < len; i++, c /= 4)
				k += alphabet[c % 4];
			if (Key(k) == TopicProblem::kNone)
				keys.push_back(k);
		}
	}
	keys.push_back("a-b_c.x");
	for (const std::string &g : globs) {
		Compiled c({g});
		for (const std::string &k : keys) {
			bool ours = !c.Match(k).empty();
			bool pgmq = PgmqGlob(g, 0, k, 0);
			if (ours != pgmq) {
				std::fprintf(stderr, "glob %s key %s: ours %d pgmq %d\n", g.c_str(), k.c_str(), ours, pgmq);
				failures++;
			}
		}
	}
}

void
TestThousandPatterns() {
	std::mt19937 rng(42);
	const std::vector<std::string> words = {"orders", "users", "eu", "us", "created", "deleted", "a", "b"};
	auto word = [&]() { return words[rng() % words.size()]; };
	std::vector<std::string> patterns;
	while (patterns.size() < 1000) {
		int segments = 1 + rng() % 4;
		std::string p;
		for (int s = 0; s < segments; s++) {
			if (s > 0)
				p += '.';
			int r = rng() % 10;
			p += r == 0 ? "*" : r == 1 ? "#" : word();
		}
		if (Pattern(p) == TopicProblem::kNone)
			patterns.push_back(p);
	}
	Compiled c(patterns);
	EXPECT(c.router->indexed_count + c.router->other_count == 1000);
	std::size_t total_matches = 0;
	for (int round = 0; round < 2000; round++) {
		int segments = 1 + rng() % 5;
		std::string key;
		for (int s = 0; s < segments; s++)
			key += (s > 0 ? "." : "") + word();
		std::vector<std::uint32_t> expected;
		for (std::uint32_t i = 0; i < patterns.size(); i++)
			if (PgmqGlob(patterns[i], 0, key, 0))
				expected.push_back(i);
		std::vector<std::uint32_t> got = c.Match(key);
		if (got != expected) {
			std::fprintf(stderr, "key %s: %zu matches, expected %zu\n", key.c_str(), got.size(), expected.size());
			failures++;
		}
		total_matches += got.size();
	}
	EXPECT(total_matches > 0);

	/* one literal pattern among 999 others: exactly it */
	std::vector<std::string> many;
	for (int i = 0; i < 999; i++)
		many.push_back("service" + std::to_string(i) + ".*.#");
	many.insert(many.begin() + 500, "orders.created.eu");
	Compiled m(many);
	std::vector<std::uint32_t> one = m.Match("orders.created.eu");
	EXPECT(one.size() == 1 && one[0] == 500);
	EXPECT(m.Match("orders.created").empty());
	EXPECT(m.Match("service7.x").empty());
	EXPECT(m.Match("service7.x.y").size() == 1);
	EXPECT(m.Match("service7").empty());
}

void
TestEmptyAndDuplicates() {
	Compiled none({});
	EXPECT(none.Match("a").empty());
	Compiled dup({"a.*", "a.*", "#", "b"});
	std::vector<std::uint32_t> got = dup.Match("a.x");
	EXPECT((got == std::vector<std::uint32_t>{0, 1, 2}));
	EXPECT((dup.Match("b") == std::vector<std::uint32_t>{2, 3}));
}

} // namespace

int
main() {
	TestChecks();
	TestSegments();
	TestGlob();
	TestThousandPatterns();
	TestEmptyAndDuplicates();
	if (failures != 0) {
		std::fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	std::printf("all tests passed\n");
	return 0;
}
