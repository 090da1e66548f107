/* The diag plugin, loaded through the real loader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void
test_sleep(void **state)
{
	struct harness *h = harness_load("diag", NULL, NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "diag sleep 0", "OK slept 0");
	harness_expect(h, "#t DIAG SLEEP 5", "#t OK slept 5");
	harness_expect(h, "diag sleep -1", "ERR ARGS milliseconds must be a "
	    "whole number from 0 to 60000");
	harness_expect(h, "diag sleep 60001", "ERR ARGS milliseconds must be a "
	    "whole number from 0 to 60000");
	harness_expect(h, "diag sleep 1x", "ERR ARGS milliseconds must be a "
	    "whole number from 0 to 60000");
	harness_expect(h, "diag sleep", "ERR ARGS usage: diag sleep <ms>");
	harness_free(h);
}

static void
test_error(void **state)
{
	struct harness *h = harness_load("diag", NULL, NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "diag error device \"line\\nbroke\"",
	    "ERR DEVICE line broke");
	harness_expect(h, "diag error BUSY", "ERR BUSY diag error");
	harness_expect(h, "diag error NOPE", "ERR ARGS unknown code 'NOPE'");
	harness_free(h);
}

static void
test_unknown_key(void **state)
{
	(void)state;
	assert_null(harness_load("diag", "colour = blue", NULL));
	assert_non_null(strstr(harness_last_errors(),
	    "picmd.ini:5: [diag] unknown key 'colour'"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sleep),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_unknown_key),
	};

	return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
