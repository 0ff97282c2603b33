/*
 * routing.cpp: routing key and pattern checks, the pattern compiler and the matcher.
 */
#include "core/routing.hpp"

#include <algorithm>
#include <new>
#include <string_view>

#include <boost/container/small_vector.hpp>

#include "core/error.hpp"

namespace pgmq::core {

namespace {

/* A key has at most 128 segments (255 characters); most have a handful: no heap allocation for them. */
using Segments = boost::container::small_vector<std::string_view, 16>;
/* Reachable positions of the matchers' dynamic programming (segments, or characters of a key). */
using Reached = boost::container::small_vector<bool, 64>;

bool
IsKeyChar(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		   c == '.';
}

/* CheckCommon applies the rules keys and patterns share, after the character check. */
TopicProblem
CheckDots(const char *text, std::size_t length) {
	if (text[0] == '.')
		return TopicProblem::kLeadingDot;
	if (text[length - 1] == '.')
		return TopicProblem::kTrailingDot;
	for (std::size_t i = 1; i < length; i++)
		if (text[i] == '.' && text[i - 1] == '.')
			return TopicProblem::kConsecutiveDots;
	return TopicProblem::kNone;
}

std::string_view
TokenText(const Router *router, const RouterToken &token) {
	return std::string_view(router->text + token.offset, token.length);
}

std::string_view
FirstLiteral(const Router *router, std::uint32_t pattern) {
	return TokenText(router, router->tokens[router->patterns[pattern].first_token]);
}

/* IsSegmentPattern says whether every segment of the pattern is a literal, "*" or "#" (else: glob). */
bool
IsSegmentPattern(std::string_view pattern) {
	std::size_t start = 0;
	while (true) {
		std::size_t end = pattern.find('.', start);
		std::string_view segment = pattern.substr(start, end == std::string_view::npos ? end : end - start);
		if (segment != "*" && segment != "#" && segment.find_first_of("*#") != std::string_view::npos)
			return false;
		if (end == std::string_view::npos)
			return true;
		start = end + 1;
	}
}

void
Split(std::string_view key, Segments *out) {
	std::size_t start = 0;
	while (true) {
		std::size_t end = key.find('.', start);
		if (end == std::string_view::npos) {
			out->push_back(key.substr(start));
			return;
		}
		out->push_back(key.substr(start, end - start));
		start = end + 1;
	}
}

/* MatchSegments matches a pattern of literal, "*" and "#" tokens against the key's segments. */
bool
MatchSegments(const Router *router, const RouterPattern &pattern, const Segments &segments) {
	const RouterToken *tokens = router->tokens + pattern.first_token;
	std::size_t n = segments.size();
	if (!pattern.has_hash) {
		if (pattern.token_count != n)
			return false;
		for (std::size_t i = 0; i < n; i++)
			if (tokens[i].kind == TokenKind::kLiteral && TokenText(router, tokens[i]) != segments[i])
				return false;
		return true;
	}
	/*
	 * Cheap rejection first: the tokens before the first "#" sit at fixed positions from the start,
	 * those after the last "#" at fixed positions from the end, and every token needs a segment.
	 */
	std::uint32_t first_hash = 0;
	while (tokens[first_hash].kind != TokenKind::kHash) {
		if (first_hash >= n || (tokens[first_hash].kind == TokenKind::kLiteral &&
								TokenText(router, tokens[first_hash]) != segments[first_hash]))
			return false;
		first_hash++;
	}
	std::uint32_t last_hash = pattern.token_count - 1;
	std::size_t from_end = 0;
	if (pattern.token_count > n)
		return false;
	while (tokens[last_hash].kind != TokenKind::kHash) {
		from_end++;
		if (tokens[last_hash].kind == TokenKind::kLiteral &&
			TokenText(router, tokens[last_hash]) != segments[n - from_end])
			return false;
		last_hash--;
	}
	/* reached[i]: the tokens so far can match segments[0..i). */
	Reached reached(n + 1, false);
	Reached next(n + 1, false);
	reached[0] = true;
	for (std::uint32_t t = 0; t < pattern.token_count; t++) {
		const RouterToken &token = tokens[t];
		bool any = false;
		bool before = false; /* some reached[j], j < i */
		for (std::size_t i = 0; i <= n; i++) {
			switch (token.kind) {
			case TokenKind::kHash:
				next[i] = before;
				break;
			case TokenKind::kStar:
				next[i] = i > 0 && reached[i - 1];
				break;
			default:
				next[i] = i > 0 && reached[i - 1] && TokenText(router, token) == segments[i - 1];
				break;
			}
			any = any || next[i];
			before = before || reached[i];
		}
		if (!any)
			return false;
		reached.swap(next);
	}
	return reached[n];
}

/* MatchGlob matches as PGMQ's regex does: "*" is [^.]+, "#" is .*, every other character itself. */
bool
MatchGlob(std::string_view pattern, std::string_view key) {
	std::size_t n = key.size();
	Reached reached(n + 1, false);
	Reached next(n + 1, false);
	reached[0] = true;
	for (char p : pattern) {
		bool any = false;
		bool run = false;
		for (std::size_t i = 0; i <= n; i++) {
			if (p == '#') {
				run = run || reached[i];
				next[i] = run;
			} else if (p == '*') {
				/* some j < i reached, key[j..i) non-empty and without dots */
				run = i > 0 && key[i - 1] != '.' && (run || reached[i - 1]);
				next[i] = run;
			} else {
				next[i] = i > 0 && reached[i - 1] && key[i - 1] == p;
			}
			any = any || next[i];
		}
		if (!any)
			return false;
		reached.swap(next);
	}
	return reached[n];
}

bool
Matches(const Router *router, std::uint32_t index, std::string_view key, const Segments &segments) {
	const RouterPattern &pattern = router->patterns[index];
	if (pattern.token_count == 1 && router->tokens[pattern.first_token].kind == TokenKind::kGlob)
		return MatchGlob(TokenText(router, router->tokens[pattern.first_token]), key);
	return MatchSegments(router, pattern, segments);
}

std::size_t
Align(std::size_t n) {
	return (n + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
}

struct Layout {
	std::size_t patterns, tokens, indexed, others, text, total;
};

Layout
ComputeLayout(const TopicPattern *patterns, std::uint32_t count) {
	std::size_t tokens = 0;
	std::size_t text = 0;
	for (std::uint32_t i = 0; i < count; i++) {
		std::string_view p(patterns[i].text, patterns[i].length);
		tokens += IsSegmentPattern(p) ? std::count(p.begin(), p.end(), '.') + 1 : 1;
		text += p.size();
	}
	Layout layout;
	layout.patterns = Align(sizeof(Router));
	layout.tokens = layout.patterns + Align(sizeof(RouterPattern) * count);
	layout.indexed = layout.tokens + Align(sizeof(RouterToken) * tokens);
	layout.others = layout.indexed + Align(sizeof(std::uint32_t) * count);
	layout.text = layout.others + Align(sizeof(std::uint32_t) * count);
	layout.total = layout.text + Align(text + 1);
	return layout;
}

} // namespace

TopicProblem
CheckRoutingKey(const char *text, std::size_t length, std::size_t chars) noexcept {
	if (length == 0)
		return TopicProblem::kEmpty;
	if (chars > kMaxRoutingKeyLength)
		return TopicProblem::kTooLong;
	for (std::size_t i = 0; i < length; i++)
		if (!IsKeyChar(text[i]))
			return TopicProblem::kInvalidCharacters;
	return CheckDots(text, length);
}

TopicProblem
CheckTopicPattern(const char *text, std::size_t length, std::size_t chars) noexcept {
	if (length == 0)
		return TopicProblem::kEmpty;
	if (chars > kMaxRoutingKeyLength)
		return TopicProblem::kTooLong;
	for (std::size_t i = 0; i < length; i++)
		if (!IsKeyChar(text[i]) && text[i] != '*' && text[i] != '#')
			return TopicProblem::kInvalidCharacters;
	TopicProblem dots = CheckDots(text, length);
	if (dots != TopicProblem::kNone)
		return dots;
	std::string_view p(text, length);
	if (p.find("**") != std::string_view::npos)
		return TopicProblem::kConsecutiveStars;
	if (p.find("##") != std::string_view::npos)
		return TopicProblem::kConsecutiveHashes;
	if (p.find("*#") != std::string_view::npos || p.find("#*") != std::string_view::npos)
		return TopicProblem::kAdjacentWildcards;
	return TopicProblem::kNone;
}

std::size_t
RouterSize(const TopicPattern *patterns, std::uint32_t count) noexcept {
	return ComputeLayout(patterns, count).total;
}

const Router *
BuildRouter(void *buffer, std::size_t size, const TopicPattern *patterns, std::uint32_t count) {
	Layout layout = ComputeLayout(patterns, count);
	if (size < layout.total)
		throw Error(ErrorKind::kInternal, "topic router buffer too small");
	char *base = static_cast<char *>(buffer);
	Router *router = new (base) Router();
	auto *compiled = reinterpret_cast<RouterPattern *>(base + layout.patterns);
	auto *tokens = reinterpret_cast<RouterToken *>(base + layout.tokens);
	auto *indexed = reinterpret_cast<std::uint32_t *>(base + layout.indexed);
	auto *others = reinterpret_cast<std::uint32_t *>(base + layout.others);
	char *text = base + layout.text;
	router->pattern_count = count;
	router->patterns = compiled;
	router->tokens = tokens;
	router->indexed = indexed;
	router->others = others;
	router->text = text;

	std::uint32_t token_count = 0;
	std::uint32_t text_used = 0;
	for (std::uint32_t i = 0; i < count; i++) {
		std::string_view p(patterns[i].text, patterns[i].length);
		std::copy(p.begin(), p.end(), text + text_used);
		RouterPattern &out = compiled[i];
		out.first_token = token_count;
		out.has_hash = false;
		if (!IsSegmentPattern(p)) {
			tokens[token_count++] = RouterToken{text_used, patterns[i].length, TokenKind::kGlob};
			out.token_count = 1;
			others[router->other_count++] = i;
		} else {
			std::size_t start = 0;
			while (true) {
				std::size_t end = p.find('.', start);
				std::size_t len = (end == std::string_view::npos ? p.size() : end) - start;
				std::string_view segment = p.substr(start, len);
				TokenKind kind = segment == "*"   ? TokenKind::kStar
								 : segment == "#" ? TokenKind::kHash
												  : TokenKind::kLiteral;
				out.has_hash = out.has_hash || kind == TokenKind::kHash;
				tokens[token_count++] =
					RouterToken{text_used + static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(len), kind};
				if (end == std::string_view::npos)
					break;
				start = end + 1;
			}
			out.token_count = token_count - out.first_token;
			if (tokens[out.first_token].kind == TokenKind::kLiteral)
				indexed[router->indexed_count++] = i;
			else
				others[router->other_count++] = i;
		}
		text_used += patterns[i].length;
	}
	text[text_used] = '\0';
	std::stable_sort(indexed, indexed + router->indexed_count, [router](std::uint32_t a, std::uint32_t b) {
		return FirstLiteral(router, a) < FirstLiteral(router, b);
	});
	return router;
}

std::uint32_t
MatchRoutingKey(const Router *router, const char *key, std::size_t length, std::uint32_t *out) {
	std::string_view k(key, length);
	Segments segments;
	Split(k, &segments);
	std::uint32_t found = 0;
	const std::uint32_t *begin = router->indexed;
	const std::uint32_t *end = router->indexed + router->indexed_count;
	std::string_view first = segments[0];
	const std::uint32_t *lo = std::lower_bound(
		begin, end, first, [router](std::uint32_t p, std::string_view v) { return FirstLiteral(router, p) < v; });
	for (const std::uint32_t *it = lo; it != end && FirstLiteral(router, *it) == first; ++it)
		if (Matches(router, *it, k, segments))
			out[found++] = *it;
	for (std::uint32_t i = 0; i < router->other_count; i++)
		if (Matches(router, router->others[i], k, segments))
			out[found++] = router->others[i];
	std::sort(out, out + found);
	return found;
}

} // namespace pgmq::core
