/*
 * Unit tests for src/dispatch.c: registering commands, looking them up
 * the way a request does (case-insensitive, longest multi-word name wins),
 * removing a plugin's commands, argument-count checks and the HELP list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dispatch.h"
#include "proto.h"
#include "strbuf.h"

/* Owners are only compared, never dereferenced. */
static char owner_a_mem, owner_b_mem;
#define OWNER_A ((struct plugin *)(void *)&owner_a_mem)
#define OWNER_B ((struct plugin *)(void *)&owner_b_mem)

static void
handler_stub(picmd_ctx *ctx, int argc, const char *const *argv)
{
}

static int
builtin_stub(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	return REPLY_OK;
}

static int
setup(void **state)
{
	struct dispatch *d = dispatch_new();

	assert_non_null(d);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	dispatch_free(*state);
	return 0;
}

/* Add a plugin command that must be accepted. */
static void
add_ok(struct dispatch *d, const char *name, struct plugin *owner)
{
	char why[256] = "";

	if (dispatch_add(d, name, NULL, 0, PICMD_ARGS_ANY, 0, handler_stub,
	    NULL, owner, why, sizeof(why)) != 0)
		fail_msg("adding '%s' failed: %s", name, why);
}

/* Add a command that must be refused with a message containing part. */
static void
add_fails(struct dispatch *d, const char *name, int min, int max,
    picmd_handler h, builtin_fn b, const char *part)
{
	char why[256] = "";
	size_t before = dispatch_count(d);

	assert_int_equal(dispatch_add(d, name, "usage", min, max, 0, h, b,
	    OWNER_A, why, sizeof(why)), -1);
	if (strstr(why, part) == NULL)
		fail_msg("message '%s' does not mention '%s'", why, part);
	assert_int_equal(dispatch_count(d), before);
}

/* Look up a request given as a space-separated line. */
static const struct command *
lookup(struct dispatch *d, const char *line)
{
	char copy[256], *argv[PROTO_MAX_WORDS], *p, *w;
	int argc = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (p = copy; (w = strsep(&p, " ")) != NULL;)
		if (*w != '\0')
			argv[argc++] = w;
	return dispatch_lookup(d, argc, argv);
}

/* The request line must find the command registered as want (or none). */
static void
expect_lookup(struct dispatch *d, const char *line, const char *want)
{
	const struct command *c = lookup(d, line);

	if (want == NULL) {
		if (c != NULL)
			fail_msg("'%s' found '%s', expected nothing", line,
			    c->name);
		return;
	}
	if (c == NULL)
		fail_msg("'%s' found nothing, expected '%s'", line, want);
	assert_string_equal(c->name, want);
}

static void
test_add_stores_fields(void **state)
{
	struct dispatch *d = *state;
	const struct command *c;
	char why[64];

	assert_int_equal(dispatch_add(d, "Diag Sleep", "diag sleep <ms>", 1, 1,
	    PICMD_CMD_ADMIN, handler_stub, NULL, OWNER_A, why, sizeof(why)),
	    0);
	assert_int_equal(dispatch_add(d, "ping", NULL, 0, 0, 0, NULL,
	    builtin_stub, NULL, why, sizeof(why)), 0);
	assert_int_equal(dispatch_count(d), 2);

	c = lookup(d, "diag sleep 5");
	assert_non_null(c);
	assert_string_equal(c->name, "diag sleep");
	assert_string_equal(c->usage, "diag sleep <ms>");
	assert_int_equal(c->nwords, 2);
	assert_int_equal(c->min_args, 1);
	assert_int_equal(c->max_args, 1);
	assert_int_equal(c->flags, PICMD_CMD_ADMIN);
	assert_ptr_equal(c->handler, handler_stub);
	assert_null(c->builtin);
	assert_ptr_equal(c->owner, OWNER_A);

	/* No usage given: HELP shows the name. */
	c = lookup(d, "ping");
	assert_non_null(c);
	assert_string_equal(c->usage, "ping");
	assert_ptr_equal(c->builtin, builtin_stub);
	assert_null(c->owner);
}

static void
test_lookup_case_insensitive(void **state)
{
	struct dispatch *d = *state;

	expect_lookup(d, "ping", NULL);		/* empty table */
	add_ok(d, "ping", NULL);
	add_ok(d, "GPIO Write", OWNER_A);
	expect_lookup(d, "ping", "ping");
	expect_lookup(d, "PING", "ping");
	expect_lookup(d, "PiNg extra args", "ping");
	expect_lookup(d, "gpio write 17 1", "gpio write");
	expect_lookup(d, "Gpio WRITE 17 1", "gpio write");
	expect_lookup(d, "pong", NULL);
	expect_lookup(d, "pin", NULL);
	expect_lookup(d, "pingg", NULL);
	expect_lookup(d, "", NULL);
}

static void
test_longest_match_wins(void **state)
{
	static const char *const names[] = { "gpio", "gpio read",
	    "gpio write", "gpio read all", "gp", "gpioz" };
	struct dispatch *d = *state;
	struct dispatch *rev;

	/* The same table built in two orders must answer the same. */
	assert_non_null(rev = dispatch_new());
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		add_ok(d, names[i], OWNER_A);
		add_ok(rev, names[sizeof(names) / sizeof(names[0]) - 1 - i],
		    OWNER_A);
	}
	for (int k = 0; k < 2; k++) {
		struct dispatch *t = k == 0 ? d : rev;

		expect_lookup(t, "gpio", "gpio");
		expect_lookup(t, "gpio 4", "gpio");
		expect_lookup(t, "gpio read 4", "gpio read");
		expect_lookup(t, "GPIO READ", "gpio read");
		expect_lookup(t, "gpio readx", "gpio");
		expect_lookup(t, "gpio read all", "gpio read all");
		expect_lookup(t, "gpio read allx", "gpio read");
		expect_lookup(t, "gpio write 17 1", "gpio write");
		expect_lookup(t, "gp read", "gp");
		expect_lookup(t, "gpioz read", "gpioz");
		expect_lookup(t, "gpi", NULL);
	}
	dispatch_free(rev);
}

static void
test_partial_multi_word(void **state)
{
	struct dispatch *d = *state;

	add_ok(d, "gpio read", OWNER_A);
	expect_lookup(d, "gpio", NULL);
	expect_lookup(d, "gpio write 4", NULL);
	expect_lookup(d, "read", NULL);
	expect_lookup(d, "gpio read", "gpio read");
}

/* Many names, added after lookups have already sorted the table. */
static void
test_lookup_many(void **state)
{
	struct dispatch *d = *state;
	bool has_sub[150] = { false };
	char name[32], line[40], sub[40];

	for (int i = 0; i < 150; i++) {
		int j = (i * 37) % 150;		/* every j once, shuffled */

		snprintf(name, sizeof(name), "cmd%03d", j);
		add_ok(d, name, NULL);
		if (i % 3 == 0) {
			snprintf(name, sizeof(name), "cmd%03d sub", j);
			add_ok(d, name, OWNER_B);
			has_sub[j] = true;
		}
		expect_lookup(d, "cmd000 sub", "cmd000 sub");
	}
	assert_int_equal(dispatch_count(d), 200);
	for (int j = 0; j < 150; j++) {
		snprintf(name, sizeof(name), "cmd%03d", j);
		snprintf(sub, sizeof(sub), "cmd%03d sub", j);
		snprintf(line, sizeof(line), "CMD%03d Sub x", j);
		expect_lookup(d, name, name);
		expect_lookup(d, line, has_sub[j] ? sub : name);
	}
	expect_lookup(d, "cmd150", NULL);
	expect_lookup(d, "cmd", NULL);
	expect_lookup(d, "cmd0000", NULL);
}

static void
test_duplicates_rejected(void **state)
{
	struct dispatch *d = *state;

	add_ok(d, "gpio read", OWNER_A);
	add_ok(d, "ping", NULL);
	add_fails(d, "gpio read", 0, 1, handler_stub, NULL,
	    "'gpio read' is already registered");
	add_fails(d, "GPIO  Read", 0, 1, handler_stub, NULL,
	    "already registered");
	add_fails(d, "gpio.read", 0, 1, handler_stub, NULL,
	    "already registered");
	/* A plugin cannot take a built-in's name. */
	add_fails(d, "PING", 0, 0, handler_stub, NULL, "'ping' is already");
	assert_int_equal(dispatch_count(d), 2);
	/* The original is still the one found. */
	assert_ptr_equal(lookup(d, "gpio read")->owner, OWNER_A);
}

static void
test_bad_names_rejected(void **state)
{
	struct dispatch *d = *state;
	char long_name[200];

	add_fails(d, "", 0, 0, handler_stub, NULL, "bad command name");
	add_fails(d, "   ", 0, 0, handler_stub, NULL, "bad command name");
	add_fails(d, NULL, 0, 0, handler_stub, NULL, "bad command name");
	add_fails(d, "gpio/read", 0, 0, handler_stub, NULL, "bad command name");
	add_fails(d, "ping!", 0, 0, handler_stub, NULL, "'ping!'");
	add_fails(d, "a\tb", 0, 0, handler_stub, NULL, "bad command name");
	add_fails(d, "caf\xc3\xa9", 0, 0, handler_stub, NULL, "bad command");
	add_fails(d, "a b c d e", 0, 0, handler_stub, NULL, "bad command name");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	add_fails(d, long_name, 0, 0, handler_stub, NULL, "bad command name");

	/* Four words, digits, '_' and '-' are fine. */
	add_ok(d, "a b c d", NULL);
	add_ok(d, "i2c_dev-x", NULL);
	expect_lookup(d, "A B C D", "a b c d");
	expect_lookup(d, "I2C_DEV-X", "i2c_dev-x");
}

static void
test_bad_counts_or_handlers_rejected(void **state)
{
	struct dispatch *d = *state;

	add_fails(d, "x", -1, 2, handler_stub, NULL, "argument counts");
	add_fails(d, "x", 3, 2, handler_stub, NULL, "argument counts");
	add_fails(d, "x", 0, 0, NULL, NULL, "handler");
	add_fails(d, "x", 0, 0, handler_stub, builtin_stub, "handler");
	expect_lookup(d, "x", NULL);
}

static void
test_remove_owner(void **state)
{
	struct dispatch *d = *state;

	add_ok(d, "ping", NULL);
	add_ok(d, "gpio read", OWNER_A);
	add_ok(d, "gpio write", OWNER_A);
	add_ok(d, "gpio", OWNER_B);
	add_ok(d, "led set", OWNER_B);
	expect_lookup(d, "gpio read 4", "gpio read");	/* sorts the table */

	dispatch_remove_owner(d, OWNER_A);
	assert_int_equal(dispatch_count(d), 3);
	expect_lookup(d, "gpio read 4", "gpio");
	expect_lookup(d, "gpio write 4 1", "gpio");
	expect_lookup(d, "led set 1", "led set");
	expect_lookup(d, "ping", "ping");
	assert_null(dispatch_find(d, "gpio.read"));

	/* Built-ins have no owner and are never removed this way. */
	dispatch_remove_owner(d, NULL);
	assert_int_equal(dispatch_count(d), 3);

	/* The freed name can be registered again. */
	add_ok(d, "gpio read", OWNER_B);
	expect_lookup(d, "gpio read 4", "gpio read");

	dispatch_remove_owner(d, OWNER_B);
	assert_int_equal(dispatch_count(d), 1);
	expect_lookup(d, "ping", "ping");
	expect_lookup(d, "gpio read 4", NULL);
}

static void
test_args_ok(void **state)
{
	struct command c = { .min_args = 1, .max_args = 2 };

	assert_false(dispatch_args_ok(&c, 0));
	assert_true(dispatch_args_ok(&c, 1));
	assert_true(dispatch_args_ok(&c, 2));
	assert_false(dispatch_args_ok(&c, 3));

	c.min_args = 0;
	c.max_args = 0;
	assert_true(dispatch_args_ok(&c, 0));
	assert_false(dispatch_args_ok(&c, 1));

	c.max_args = PICMD_ARGS_ANY;
	assert_true(dispatch_args_ok(&c, 0));
	assert_true(dispatch_args_ok(&c, PROTO_MAX_WORDS));

	c.min_args = 2;
	assert_false(dispatch_args_ok(&c, 1));
	assert_true(dispatch_args_ok(&c, 2));
	assert_true(dispatch_args_ok(&c, 100));
}

static void
test_find(void **state)
{
	struct dispatch *d = *state;
	const struct command *c;

	add_ok(d, "gpio read", OWNER_A);
	add_ok(d, "ping", NULL);
	assert_non_null(c = dispatch_find(d, "gpio.read"));
	assert_string_equal(c->name, "gpio read");
	assert_ptr_equal(dispatch_find(d, "gpio read"), c);
	assert_ptr_equal(dispatch_find(d, "GPIO.Read"), c);
	assert_ptr_equal(dispatch_find(d, "Gpio READ"), c);
	assert_non_null(dispatch_find(d, "PING"));
	assert_null(dispatch_find(d, "gpio"));
	assert_null(dispatch_find(d, "gpio.read.all"));
	assert_null(dispatch_find(d, "read"));
	assert_null(dispatch_find(d, ""));
	assert_null(dispatch_find(d, "gpio/read"));
}

static void
expect_list(struct dispatch *d, const char *want)
{
	struct strbuf sb;

	strbuf_init(&sb);
	dispatch_list(d, &sb);
	assert_false(sb.failed);
	assert_string_equal(strbuf_str(&sb), want);
	strbuf_free(&sb);
}

static void
test_list(void **state)
{
	static const char *const names[] = { "ping", "gpio write", "VERSION",
	    "echo", "gpio read", "gpio", "help", "diag sleep" };
	struct dispatch *d = *state;

	expect_list(d, "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_ok(d, names[i], i % 2 ? OWNER_A : NULL);
	expect_lookup(d, "gpio read", "gpio read");	/* sorts by lookup order */
	expect_list(d, "diag.sleep echo gpio gpio.read gpio.write help ping "
	    "version");
	dispatch_remove_owner(d, OWNER_A);
	expect_list(d, "gpio.read help ping version");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_add_stores_fields),
		T(test_lookup_case_insensitive),
		T(test_longest_match_wins),
		T(test_partial_multi_word),
		T(test_lookup_many),
		T(test_duplicates_rejected),
		T(test_bad_names_rejected),
		T(test_bad_counts_or_handlers_rejected),
		T(test_remove_owner),
		T(test_args_ok),
		T(test_find),
		T(test_list),
#undef T
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
