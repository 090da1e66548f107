/* The example plugin (commands/hello.c), loaded through the real loader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void
test_default(void **state)
{
	struct harness *h = harness_load("hello", NULL, NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "hello", "OK hello, world");
	harness_expect(h, "hello Ada", "OK hello, Ada");
	harness_expect(h, "#1 HELLO \"Ada Lovelace\"", "#1 OK hello, Ada Lovelace");
	/* The dispatcher checks the count from the descriptor. */
	harness_expect(h, "hello a b", "ERR ARGS usage: hello [name]");
	harness_free(h);
}

static void
test_greeting(void **state)
{
	struct harness *h = harness_load("hello", "greeting = good morning",
	    NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "hello Pi", "OK good morning, Pi");
	harness_free(h);
}

static void
test_unknown_key(void **state)
{
	(void)state;
	assert_null(harness_load("hello", "greting = hi", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "picmd.ini:5: [hello] unknown key 'greting'"));
}

/* docs/PLUGINS.md shows commands/hello.c in full: keep them the same. */
static void
test_docs_show_it(void **state)
{
	char *src = fixture_read(TEST_FIXTURES "/../..", "commands/hello.c");
	char *doc = fixture_read(TEST_FIXTURES "/../..", "docs/PLUGINS.md");

	(void)state;
	assert_non_null(src);
	assert_non_null(doc);
	if (strstr(doc, src) == NULL)
		fail_msg("docs/PLUGINS.md does not hold commands/hello.c as it "
		    "is now");
	free(src);
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_docs_show_it),
	};

	return cmocka_run_group_tests_name("hello", tests, NULL, NULL);
}
