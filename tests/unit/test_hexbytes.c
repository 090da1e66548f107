/*
 * The bus plugins' shared helpers, compiled in from commands/common/:
 * hexbytes.c (hex bytes in and out, numbers as C writes them) and
 * buslock.c (per-bus mutexes made on first use, with a deadline).  The
 * plugins' own tests (test_i2c.c, test_spi.c) show them through the
 * commands; these pin the edges down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../commands/common/buslock.c"
#include "../../commands/common/hexbytes.c"

/* Parse the words of line (split on blanks) into out. */
static int
parse_line(const char *line, uint8_t *out, size_t max, size_t *n, char *why,
    size_t whylen)
{
	char *copy = strdup(line), *save = NULL, *w;
	const char *argv[64];
	int argc = 0, rc;

	assert_non_null(copy);
	for (w = strtok_r(copy, " ", &save); w != NULL && argc < 64;
	    w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	rc = hexbytes_parse(argc, argv, out, max, n, why, whylen);
	free(copy);
	return rc;
}

static void
expect_bytes(const char *line, const char *want)
{
	uint8_t buf[64];
	char why[160], got[200];
	size_t n = 0;

	if (parse_line(line, buf, sizeof(buf), &n, why, sizeof(why)) == -1)
		fail_msg("'%s' refused: %s", line, why);
	hexbytes_format(buf, n, got, sizeof(got));
	assert_string_equal(got, want);
}

static void
expect_refused(const char *line, size_t max, const char *want)
{
	uint8_t buf[64];
	char why[160];
	size_t n = 99;

	assert_true(max <= sizeof(buf));
	why[0] = '\0';
	assert_int_equal(parse_line(line, buf, max, &n, why, sizeof(why)), -1);
	assert_string_equal(why, want);
	assert_int_equal(n, 99);	/* untouched on failure */
}

static void
test_parse_accepts(void **state)
{
	(void)state;
	/* The three spellings of the same kind of input. */
	expect_bytes("a5", "a5");
	expect_bytes("0xa5 ff", "a5 ff");
	expect_bytes("a5ff00", "a5 ff 00");
	expect_bytes("0XA5 0xFf 00", "a5 ff 00");
	expect_bytes("DEADbeef 0x0102", "de ad be ef 01 02");
	expect_bytes("00", "00");
	expect_bytes("0x00", "00");
	/* "0x" then digits only once: "0x0x12" is not hex. */
	expect_refused("0x0x12", 8, "bad bytes '0x0x12': 'x' is not a hex "
	    "digit");
}

static void
test_parse_refuses(void **state)
{
	uint8_t buf[4];
	char why[160];
	const char *none[] = { NULL };
	const char *empty[] = { "" };
	size_t n;

	(void)state;
	expect_refused("a", 8, "bad bytes 'a': an odd number of hex digits "
	    "(two per byte: 0a, not a)");
	expect_refused("a5 f", 8, "bad bytes 'f': an odd number of hex digits "
	    "(two per byte: 0a, not a)");
	expect_refused("0xabc", 8, "bad bytes '0xabc': an odd number of hex "
	    "digits (two per byte: 0a, not a)");
	expect_refused("0x", 8, "bad bytes '0x': give hex digits, two per "
	    "byte (a5, 0xa5ff)");
	expect_refused("zz", 8, "bad bytes 'zz': 'z' is not a hex digit");
	expect_refused("a5 -1", 8, "bad bytes '-1': '-' is not a hex digit");
	expect_refused("a5,ff", 8, "bad bytes 'a5,ff': ',' is not a hex "
	    "digit");
	expect_refused("12g4", 8, "bad bytes '12g4': 'g' is not a hex digit");
	expect_refused("0xa5:", 8, "bad bytes '0xa5:': ':' is not a hex "
	    "digit");
	/* A control byte is named, not shown (it would be a blank). */
	expect_refused("a\tb", 8, "bad bytes 'a\tb': byte 0x09 is not a hex "
	    "digit");
	/* The limit, exactly and one past it, in one word and across. */
	expect_bytes("01020304", "01 02 03 04");
	expect_refused("0102030405", 4, "too many bytes: at most 4");
	expect_refused("0102 0304 05", 4, "too many bytes: at most 4");
	expect_refused("01", 0, "too many bytes: at most 0");
	/* A long word is cut in the message. */
	expect_refused("0123456789abcdef0123456789abcdef0123456789z", 64,
	    "bad bytes '0123456789abcdef0123456789abcdef01234567': 'z' is not "
	    "a hex digit");
	/* No words, and an empty one. */
	assert_int_equal(hexbytes_parse(0, none, buf, sizeof(buf), &n, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "no bytes given");
	assert_int_equal(hexbytes_parse(1, empty, buf, sizeof(buf), &n, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "bad bytes '': give hex digits, two per "
	    "byte (a5, 0xa5ff)");
}

static void
test_number(void **state)
{
	unsigned long v;

	(void)state;
	assert_true(hexbytes_parse_number("0x48", 0x77, &v));
	assert_int_equal(v, 0x48);
	assert_true(hexbytes_parse_number("0X4F", 0x77, &v));
	assert_int_equal(v, 0x4f);
	assert_true(hexbytes_parse_number("72", 0x77, &v));
	assert_int_equal(v, 72);
	assert_true(hexbytes_parse_number("0", 0x77, &v));
	assert_int_equal(v, 0);
	assert_true(hexbytes_parse_number("0x0", 0x77, &v));
	assert_int_equal(v, 0);
	assert_true(hexbytes_parse_number("0x00000077", 0x77, &v));
	assert_int_equal(v, 0x77);
	assert_true(hexbytes_parse_number("119", 119, &v));
	/* Just past max, in both bases. */
	assert_false(hexbytes_parse_number("0x78", 0x77, &v));
	assert_false(hexbytes_parse_number("120", 0x77, &v));
	/* No octal, sign, blank, empty, or trailing junk. */
	assert_false(hexbytes_parse_number("010", 0x77, &v));
	assert_false(hexbytes_parse_number("00", 0x77, &v));
	assert_false(hexbytes_parse_number("-1", 0x77, &v));
	assert_false(hexbytes_parse_number("+5", 0x77, &v));
	assert_false(hexbytes_parse_number(" 5", 0x77, &v));
	assert_false(hexbytes_parse_number("5 ", 0x77, &v));
	assert_false(hexbytes_parse_number("", 0x77, &v));
	assert_false(hexbytes_parse_number("0x", 0x77, &v));
	assert_false(hexbytes_parse_number("0x4g", 0x77, &v));
	assert_false(hexbytes_parse_number("4f", 0x77, &v));
	assert_false(hexbytes_parse_number("7e1", 1000, &v));
	/* Whatever the length, never a wrap. */
	assert_false(hexbytes_parse_number("18446744073709551616",
	    (unsigned long)-1, &v));
	assert_false(hexbytes_parse_number("0x10000000000000000",
	    (unsigned long)-1, &v));
	assert_true(hexbytes_parse_number("0xffffffffffffffff",
	    (unsigned long)-1, &v) || sizeof(unsigned long) < 8);
	/* A digit above max on its own. */
	assert_false(hexbytes_parse_number("9", 5, &v));
	assert_true(hexbytes_parse_number("5", 5, &v));
	assert_int_equal(v, 5);
}

static void
test_format(void **state)
{
	static const uint8_t b[] = { 0x1f, 0x02, 0xa0, 0x00, 0xff };
	char out[16];

	(void)state;
	assert_int_equal(hexbytes_format(b, 3, out, sizeof(out)), 8);
	assert_string_equal(out, "1f 02 a0");
	assert_int_equal(hexbytes_format(b, 5, out, 15), 14);
	assert_string_equal(out, "1f 02 a0 00 ff");
	/* One byte short of 3 * n: refused whole, never cut. */
	assert_int_equal(hexbytes_format(b, 5, out, 14), 0);
	assert_string_equal(out, "");
	assert_int_equal(hexbytes_format(b, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(hexbytes_format(b, 0, out, 0), 0);
}

/* hexbytes_reply through a stand-in for the daemon's api table. */
static char reply_text[20000];
static int reply_code;

static void
fake_ok(picmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	vsnprintf(reply_text, sizeof(reply_text), fmt, ap);
	va_end(ap);
	reply_code = 0;
}

static void
fake_error(picmd_ctx *ctx, enum picmd_error code, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
	reply_code = (int)code;
}

static void
test_reply_and_round_trip(void **state)
{
	struct picmd_api api = { .reply_ok = fake_ok,
	    .reply_error = fake_error };
	static uint8_t big[4096], back[4096];
	const char *argv[1];
	char why[160];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	hexbytes_reply(&api, NULL, big, 2);
	assert_int_equal(reply_code, 0);
	assert_string_equal(reply_text, "03 0a");
	hexbytes_reply(&api, NULL, big, 0);
	assert_string_equal(reply_text, "");
	/* 4096 bytes out, and the words read back in as they are. */
	hexbytes_reply(&api, NULL, big, sizeof(big));
	assert_int_equal(strlen(reply_text), 3 * sizeof(big) - 1);
	{
		char *copy = strdup(reply_text), *save = NULL, *w;
		const char *words[4096];
		int argc = 0;

		assert_non_null(copy);
		for (w = strtok_r(copy, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			words[argc++] = w;
		assert_int_equal(argc, 4096);
		assert_int_equal(hexbytes_parse(argc, words, back, sizeof(back),
		    &n, why, sizeof(why)), 0);
		free(copy);
	}
	assert_int_equal(n, sizeof(big));
	assert_memory_equal(back, big, sizeof(big));
	argv[0] = "00";
	assert_int_equal(hexbytes_parse(1, argv, back, 1, &n, why,
	    sizeof(why)), 0);
	assert_int_equal(n, 1);
}

/* ---- buslock ---- */

struct holder {
	struct buslock_set	*set;
	unsigned long		 key;
	long			 hold_ms;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	int			 locked;
};

static void *
hold(void *arg)
{
	struct holder *h = arg;
	struct buslock *l = buslock_lock(h->set, h->key, 1000);

	assert_non_null(l);
	pthread_mutex_lock(&h->mu);
	h->locked = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->mu);
	usleep((useconds_t)h->hold_ms * 1000);
	buslock_unlock(l);
	return NULL;
}

static void
test_buslock(void **state)
{
	struct buslock_set *set = buslock_set_new();
	struct holder h = { .set = set, .key = 1, .hold_ms = 600 };
	struct buslock *a, *b;
	struct timespec t0, t1;
	pthread_t t;
	double ms;

	(void)state;
	assert_non_null(set);
	/* Different keys are different locks; the same key the same. */
	assert_non_null(a = buslock_lock(set, 1, 0));
	assert_non_null(b = buslock_lock(set, 2, 0));
	assert_ptr_not_equal(a, b);
	buslock_unlock(a);
	buslock_unlock(b);
	assert_ptr_equal(buslock_lock(set, 1, 0), a);
	buslock_unlock(a);

	/* Held by another thread: a short wait gives up with ETIMEDOUT... */
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, hold, &h), 0);
	pthread_mutex_lock(&h.mu);
	while (!h.locked)
		pthread_cond_wait(&h.cond, &h.mu);
	pthread_mutex_unlock(&h.mu);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	assert_null(buslock_lock(set, 1, 50));
	assert_int_equal(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 40);
	/* ...a wait of 0 at once, and another key is free meanwhile... */
	assert_null(buslock_lock(set, 1, 0));
	assert_non_null(b = buslock_lock(set, 2, 0));
	buslock_unlock(b);
	/* ...and a long enough one gets it when the holder lets go. */
	assert_non_null(a = buslock_lock(set, 1, 10000));
	buslock_unlock(a);
	pthread_join(t, NULL);
	pthread_mutex_destroy(&h.mu);
	pthread_cond_destroy(&h.cond);
	buslock_set_free(set);
	buslock_set_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_reply_and_round_trip),
		cmocka_unit_test(test_buslock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
