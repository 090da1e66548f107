/*
 * Unit tests for src/strbuf.c: growth past the inline buffer, and
 * strbuf_addf(), which formats plain conversions itself and hands the rest
 * to vsnprintf(): every case is checked against snprintf().
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "strbuf.h"

/* Format with strbuf_addf() after `prefix`, and with snprintf(); both
 * must agree, byte for byte. */
#define SAME(prefix, ...) do {						\
	struct strbuf sb_;						\
	char want_[512];						\
	size_t plen_ = strlen(prefix);					\
									\
	strbuf_init(&sb_);						\
	strbuf_adds(&sb_, prefix);					\
	strbuf_addf(&sb_, __VA_ARGS__);					\
	memcpy(want_, prefix, plen_);					\
	snprintf(want_ + plen_, sizeof(want_) - plen_, __VA_ARGS__);	\
	assert_false(sb_.failed);					\
	assert_string_equal(strbuf_str(&sb_), want_);			\
	assert_int_equal(sb_.len, strlen(want_));			\
	strbuf_free(&sb_);						\
} while (0)

static void
test_plain_conversions(void **state)
{
	SAME("", "slept %ld", 0L);
	SAME("", "slept %ld", 60000L);
	SAME("", "%d", INT_MIN);
	SAME("", "%i|%d", INT_MAX, -1);
	SAME("", "%u", UINT_MAX);
	SAME("", "%ld %lu", LONG_MIN, ULONG_MAX);
	SAME("", "%lld %llu", LLONG_MIN, ULLONG_MAX);
	SAME("", "%zu %zd", (size_t)SIZE_MAX, (ssize_t)-5);
	SAME("", "%c%c", 'o', 'k');
	SAME("", "100%% %s", "done");
	SAME("", "%s:%s:%s", "17", "GPIO17", "out");
	SAME("", "%s", "");
	SAME("", "no conversions at all");
	SAME("", "%s", (const char *)"a string longer than the fifty-six "
	    "bytes kept inline, so that the buffer has to grow");
	SAME("OK ", "%s=%u %s=%llu", "a", 1u, "b", 2ULL);
}

static void
test_other_conversions_fall_back(void **state)
{
	/* Each needs vsnprintf(); some come after plain ones that were
	 * already written, which must not show twice. */
	SAME("", "%03lu", 7UL);
	SAME("", "%.*s|", 3, "abcdef");
	SAME("", "%s then %lx", "plain", 0xbeefUL);
	SAME("", "%5d|%-4s|", 42, "ab");
	SAME("", "%.1f C", 21.55);
	SAME("", "%hhu", (unsigned char)200);
	SAME("x=", "%d %p", 1, (void *)0);
	SAME("", "%s %s %s %s %s %s %s %s %x", "a long line", "of plain",
	    "words written", "before the", "conversion that", "needs the",
	    "C library", "and a bit", 255u);
}

static void
test_appends(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb);
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i);
	assert_false(sb.failed);
	assert_int_equal(sb.len, strlen(strbuf_str(&sb)));
	assert_memory_equal(sb.data, "0,1,2,", 6);
	assert_string_equal(sb.data + sb.len - 4, "999,");
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	strbuf_addf(&sb, "%s", "again");
	assert_string_equal(strbuf_str(&sb), "again");
	strbuf_free(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_conversions),
		cmocka_unit_test(test_other_conversions_fall_back),
		cmocka_unit_test(test_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
