/*
 * routing.hpp: topic routing (pure C++): routing key and pattern rules, and
 * the compiled matcher send_topic uses.
 *
 * A routing key is dot-separated segments ("orders.created.eu"). A pattern
 * is the same with two wildcards: a segment "*" matches exactly one segment,
 * a segment "#" one or more, as PGMQ's compiled_regex matches valid keys
 * ("#" is ".*" between literal dots): "orders.#" matches "orders.x" and
 * "orders.x.y" but not "orders", "#.eu" matches "x.eu" but not "eu", "#"
 * every key. PGMQ also accepts a wildcard inside a segment ("log*", "a#b");
 * such a pattern matches as that regex does: "*" one or more characters
 * other than a dot, "#" any characters.
 *
 * Patterns are compiled once into a Router: plain data in one buffer the
 * caller allocated (RouterSize bytes), so it can live in a cache memory
 * context. Patterns whose first segment is a literal are kept sorted by it,
 * so a match looks at the few patterns sharing the key's first segment plus
 * those starting with a wildcard, not at every pattern.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace pgmq::core {

constexpr std::size_t kMaxRoutingKeyLength = 255;

/* TopicProblem is the first rule a routing key or pattern breaks, in PGMQ's order of checks. */
enum class TopicProblem {
	kNone,
	kEmpty,
	kTooLong,
	kInvalidCharacters,
	kLeadingDot,
	kTrailingDot,
	kConsecutiveDots,
	kConsecutiveStars,  /* patterns only: "**" */
	kConsecutiveHashes, /* patterns only: "##" */
	kAdjacentWildcards, /* patterns only: "*#" or "#*" */
};

/* CheckRoutingKey checks text[0..length) (chars: its length in characters, as SQL counts it). */
TopicProblem CheckRoutingKey(const char *text, std::size_t length, std::size_t chars) noexcept;

/* CheckTopicPattern checks a pattern the same way, allowing "*" and "#". */
TopicProblem CheckTopicPattern(const char *text, std::size_t length, std::size_t chars) noexcept;

/* TopicPattern is one binding's pattern as given to BuildRouter (need not be valid: any text compiles). */
struct TopicPattern {
	const char *text;
	std::uint32_t length;
};

enum class TokenKind : std::uint8_t { kLiteral, kStar, kHash, kGlob };

struct RouterToken {
	std::uint32_t offset; /* into Router::text */
	std::uint32_t length;
	TokenKind kind;
};

struct RouterPattern {
	std::uint32_t first_token;
	std::uint32_t token_count; /* a kGlob pattern is one token: the whole pattern */
	bool has_hash;
};

/* Router is the compiled form of count patterns; pattern i is binding i. Plain data, inside its buffer. */
struct Router {
	std::uint32_t pattern_count;
	std::uint32_t indexed_count; /* patterns starting with a literal segment, sorted by it */
	std::uint32_t other_count;   /* the others */
	const RouterPattern *patterns;
	const RouterToken *tokens;
	const std::uint32_t *indexed;
	const std::uint32_t *others;
	const char *text;
};

/* RouterSize returns the bytes BuildRouter needs for these patterns. */
std::size_t RouterSize(const TopicPattern *patterns, std::uint32_t count) noexcept;

/*
 * BuildRouter compiles the patterns into buffer (size bytes from RouterSize, aligned for pointers) and
 * returns the Router at its start. Throws std::bad_alloc (transient work) or pgmq::Error if size is short.
 */
const Router *BuildRouter(void *buffer, std::size_t size, const TopicPattern *patterns, std::uint32_t count);

/*
 * MatchRoutingKey writes the indexes of the patterns that match key[0..length) to out (room for
 * router->pattern_count entries), in ascending order, and returns how many.
 */
std::uint32_t MatchRoutingKey(const Router *router, const char *key, std::size_t length, std::uint32_t *out);

} // namespace pgmq::core

#include "core/core_only.hpp"
