/*
 * The serial plugin's pure functions, compiled in from its source
 * (commands/serial/format.c): port settings from the config, the
 * termios they make and the check of what a driver kept, the escaping
 * of received bytes, "hex:" bytes, and finding lines in what arrived.
 * The plugin's commands: test_serial.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

#include <cmocka.h>

#include "../../commands/serial/format.c"

static void
test_escape(void **state)
{
	const unsigned char in[] = "a b\\c\r\n\x00\x7f\xc3\xa9~";
	char out[4 * sizeof(in) + 1];

	(void)state;
	serial_escape(in, sizeof(in) - 1, out);
	assert_string_equal(out, "a b\\\\c\\x0d\\x0a\\x00\\x7f\\xc3\\xa9~");
	serial_escape((const unsigned char *)" x ", 3, out);
	assert_string_equal(out, "\\x20x\\x20");
	serial_escape((const unsigned char *)" ", 1, out);
	assert_string_equal(out, "\\x20");
	assert_int_equal(serial_escape((const unsigned char *)"", 0, out), 0);
	assert_string_equal(out, "");
}

static void
expect_hex(const char *const *words, int n, const char *want, size_t wantn)
{
	unsigned char out[16];
	char why[160];
	size_t got = 0;

	if (serial_parse_hex(words, n, out, sizeof(out), &got, why,
	    sizeof(why)) == -1)
		fail_msg("hex '%s': %s", words[0], why);
	assert_int_equal(got, wantn);
	assert_memory_equal(out, want, wantn);
}

static void
expect_hex_error(const char *const *words, int n, const char *want)
{
	unsigned char out[4];
	char why[160];
	size_t got;

	assert_int_equal(serial_parse_hex(words, n, out, sizeof(out), &got,
	    why, sizeof(why)), -1);
	assert_string_equal(why, want);
}

static void
test_parse_hex(void **state)
{
	const char *a[] = { "0d0a" }, *b[] = { "0x0d", "0A" },
	    *c[] = { "", "00", "FF", "0xab12" }, *d[] = { "0d 0a\t7f" };
	const char *odd[] = { "0d0" }, *bad[] = { "zz" }, *none[] = { "" },
	    *x[] = { "0x" }, *many[] = { "0102030405" }, *blank[] = { " " };

	(void)state;
	expect_hex(a, 1, "\r\n", 2);
	expect_hex(b, 2, "\r\n", 2);
	expect_hex(c, 4, "\x00\xff\xab\x12", 4);
	expect_hex(d, 1, "\r\n\x7f", 3);
	expect_hex_error(odd, 1, "'0d0' is not whole bytes: give pairs of hex "
	    "digits, e.g. hex:0d0a or hex:0x0d 0a");
	expect_hex_error(bad, 1, "'zz' is not hex: give pairs of hex digits, "
	    "e.g. hex:0d0a or hex:0x0d 0a");
	expect_hex_error(x, 1, "'0x' is not whole bytes: give pairs of hex "
	    "digits, e.g. hex:0d0a or hex:0x0d 0a");
	expect_hex_error(none, 1, "hex: needs at least one byte, e.g. "
	    "hex:0d0a");
	expect_hex_error(blank, 1, "hex: needs at least one byte, e.g. "
	    "hex:0d0a");
	expect_hex_error(many, 1, "more than 4 bytes");
}

static void
expect_settings_error(const char *value, const char *want)
{
	struct serial_settings s;
	char why[256];

	assert_int_equal(serial_parse_settings(value, &s, why, sizeof(why)),
	    -1);
	assert_null(s.device);
	assert_string_equal(why, want);
}

static void
test_parse_settings(void **state)
{
	struct serial_settings s;
	char why[256], framing[4];

	(void)state;
	assert_int_equal(serial_parse_settings("/dev/serial0 9600 8N1", &s,
	    why, sizeof(why)), 0);
	assert_string_equal(s.device, "/dev/serial0");
	assert_int_equal(s.speed, 9600);
	serial_framing(&s, framing);
	assert_string_equal(framing, "8N1");
	assert_int_equal(s.flow, SERIAL_FLOW_NONE);
	free(s.device);
	assert_int_equal(serial_parse_settings("\t/dev/ttyUSB0  115200 7e2 "
	    "RTSCTS ", &s, why, sizeof(why)), 0);
	serial_framing(&s, framing);
	assert_string_equal(framing, "7E2");
	assert_int_equal(s.flow, SERIAL_FLOW_RTSCTS);
	assert_string_equal(serial_flow_word(s.flow), "rtscts");
	free(s.device);
	assert_int_equal(serial_parse_settings("/dev/x 4000000 5O1 xonxoff",
	    &s, why, sizeof(why)), 0);
	assert_int_equal(s.flow, SERIAL_FLOW_XONXOFF);
	free(s.device);
	assert_int_equal(serial_parse_settings("/dev/x 50 8N1 none", &s, why,
	    sizeof(why)), 0);
	free(s.device);

	expect_settings_error("/dev/x 9600", "a port is '<device> <speed> "
	    "<framing> [rtscts|xonxoff]', e.g. '/dev/serial0 9600 8N1', not "
	    "'/dev/x 9600'");
	expect_settings_error("/dev/x 9600 8N1 rtscts more", "a port is "
	    "'<device> <speed> <framing> [rtscts|xonxoff]', e.g. '/dev/serial0 "
	    "9600 8N1', not '/dev/x 9600 8N1 rtscts more'");
	expect_settings_error("", "a port is '<device> <speed> <framing> "
	    "[rtscts|xonxoff]', e.g. '/dev/serial0 9600 8N1', not ''");
	expect_settings_error("ttyS0 9600 8N1", "the device must be an "
	    "absolute path such as /dev/serial0, not 'ttyS0'");
	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = { "9601", "fast", "-9600",
		    "96000000000000000000000", "+9600" };
		char value[64];

		snprintf(value, sizeof(value), "/dev/x %s 8N1", bad[i]);
		snprintf(why, sizeof(why), "speed '%s' is not one termios has "
		    "(50 to 4000000, e.g. 9600 or 115200)", bad[i]);
		expect_settings_error(value, why);
	}
	expect_settings_error("/dev/x 9600 9N1", "framing '9N1' must be data "
	    "bits 5 to 8, parity N, E or O, and stop bits 1 or 2, e.g. 8N1");
	expect_settings_error("/dev/x 9600 8M1", "framing '8M1' must be data "
	    "bits 5 to 8, parity N, E or O, and stop bits 1 or 2, e.g. 8N1");
	expect_settings_error("/dev/x 9600 8N3", "framing '8N3' must be data "
	    "bits 5 to 8, parity N, E or O, and stop bits 1 or 2, e.g. 8N1");
	expect_settings_error("/dev/x 9600 8N1x", "framing '8N1x' must be "
	    "data bits 5 to 8, parity N, E or O, and stop bits 1 or 2, e.g. "
	    "8N1");
	expect_settings_error("/dev/x 9600 8N1 dtrdsr", "flow control "
	    "'dtrdsr' must be rtscts, xonxoff or none");

	assert_true(serial_name_ok("gps"));
	assert_true(serial_name_ok("Arduino_2-b"));
	assert_false(serial_name_ok(""));
	assert_false(serial_name_ok("a.b"));
	assert_false(serial_name_ok("a b"));
	assert_false(serial_name_ok("123456789012345678901234567890123"));
	assert_true(serial_name_ok("12345678901234567890123456789012"));
}

static void
expect_termios(const char *value, tcflag_t cflag, tcflag_t iflag,
    speed_t speed)
{
	const tcflag_t cmask = CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS |
	    CLOCAL | CREAD;
	const tcflag_t imask = INPCK | IGNPAR | IXON | IXOFF | IXANY | ICRNL;
	struct serial_settings s;
	struct termios tio;
	char why[160];

	memset(&tio, 0, sizeof(tio));
	tio.c_iflag = ICRNL | IXANY | IXON;
	tio.c_lflag = ICANON | ECHO | ISIG;
	tio.c_cflag = CRTSCTS | PARENB | CSIZE;
	tio.c_oflag = OPOST;
	assert_int_equal(serial_parse_settings(value, &s, why, sizeof(why)), 0);
	assert_int_equal(serial_termios_make(&s, &tio), 0);
	assert_int_equal(tio.c_cflag & cmask, cflag | CLOCAL | CREAD);
	assert_int_equal(tio.c_iflag & imask, iflag);
	assert_int_equal(tio.c_lflag & (ICANON | ECHO | ISIG), 0);
	assert_int_equal(tio.c_oflag & OPOST, 0);
	assert_int_equal(tio.c_cc[VMIN], 1);
	assert_int_equal(tio.c_cc[VTIME], 0);
	assert_int_equal(cfgetospeed(&tio), speed);
	assert_int_equal(cfgetispeed(&tio), speed);
	/* What was asked is what it checks for. */
	assert_int_equal(serial_termios_check(&s, &tio, why, sizeof(why)), 0);
	free(s.device);
}

static void
expect_refused(const char *value, tcflag_t clear, tcflag_t set,
    const char *want)
{
	struct serial_settings s;
	struct termios tio;
	char why[160];

	memset(&tio, 0, sizeof(tio));
	assert_int_equal(serial_parse_settings(value, &s, why, sizeof(why)), 0);
	assert_int_equal(serial_termios_make(&s, &tio), 0);
	tio.c_cflag = (tio.c_cflag & ~clear) | set;
	assert_int_equal(serial_termios_check(&s, &tio, why, sizeof(why)), -1);
	assert_string_equal(why, want);
	free(s.device);
}

static void
test_termios(void **state)
{
	struct serial_settings s;
	struct termios tio;
	char why[160];

	(void)state;
	expect_termios("/dev/x 9600 8N1", CS8, 0, B9600);
	expect_termios("/dev/x 115200 7E1", CS7 | PARENB, INPCK | IGNPAR,
	    B115200);
	expect_termios("/dev/x 300 5O2 rtscts", CS5 | PARENB | PARODD | CSTOPB |
	    CRTSCTS, INPCK | IGNPAR, B300);
	expect_termios("/dev/x 1000000 6N1 xonxoff", CS6, IXON | IXOFF,
	    B1000000);
	/* What a driver may quietly keep as it was. */
	expect_refused("/dev/x 9600 8E1", PARENB, 0, "the device does not take "
	    "framing 8E1 (it kept 8N1)");
	expect_refused("/dev/x 9600 7O2", CSIZE | CSTOPB, CS8, "the device "
	    "does not take framing 7O2 (it kept 8O1)");
	expect_refused("/dev/x 9600 8N1 rtscts", CRTSCTS, 0, "the device does "
	    "not take rtscts flow control");
	memset(&tio, 0, sizeof(tio));
	assert_int_equal(serial_parse_settings("/dev/x 921600 8N1", &s, why,
	    sizeof(why)), 0);
	assert_int_equal(serial_termios_make(&s, &tio), 0);
	cfsetospeed(&tio, B9600);
	assert_int_equal(serial_termios_check(&s, &tio, why, sizeof(why)), -1);
	assert_string_equal(why, "the device does not take 921600 bit/s");
	s.speed = 12345;	/* not from the config: refused */
	assert_int_equal(serial_termios_make(&s, &tio), -1);
	assert_int_equal(errno, EINVAL);
	free(s.device);
}

static void
test_gap(void **state)
{
	struct serial_settings s = { .speed = 9600, .data_bits = 8,
	    .parity = 'N', .stop_bits = 1 };

	(void)state;
	assert_int_equal(serial_gap_ms(&s), 20);
	s.speed = 300;		/* 3 characters of 10 bits: 100 ms */
	assert_int_equal(serial_gap_ms(&s), 100);
	s.parity = 'E';		/* 11 bits */
	assert_int_equal(serial_gap_ms(&s), 110);
}

/* The lines serial_line_next() finds in text, as "line|piece+|...". */
static void
expect_lines(const char *text, const char *want, size_t want_left)
{
	unsigned char buf[2048];
	char got[4096] = "";
	size_t len = strlen(text), start, n, used;
	bool more;

	memcpy(buf, text, len);
	while (serial_line_next(buf, len, &start, &n, &more, &used)) {
		strncat(got, (const char *)buf + start, n);
		strcat(got, more ? "+|" : "|");
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	len -= used;
	assert_string_equal(got, want);
	assert_int_equal(len, want_left);
}

static void
test_line_next(void **state)
{
	char line[600], want[600];

	(void)state;
	expect_lines("a\nbc\r\nd", "a|bc|", 1);
	expect_lines("\n\r\n\r\nx\n\n", "x|", 0);
	expect_lines("\r\r\n", "\r|", 0);
	expect_lines("a\rb\n", "a\rb|", 0);
	expect_lines("partial", "", 7);
	expect_lines("\n\npartial", "", 7);
	expect_lines("", "", 0);
	/* 255 bytes: one line, with LF or CR LF. */
	memset(line, 'x', 255);
	strcpy(line + 255, "\r\n");
	memset(want, 'x', 255);
	strcpy(want + 255, "|");
	expect_lines(line, want, 0);
	/* 256: a piece of 255 and a line of 1. */
	memset(line, 'y', 255);
	strcpy(line + 255, "z\n");
	memset(want, 'y', 255);
	strcpy(want + 255, "+|z|");
	expect_lines(line, want, 0);
	/* Without an end: a piece only once 257 bytes are there, so the
	 * rest is never an empty line (255 bytes and a CR may be a whole
	 * line whose LF is on its way). */
	memset(line, 'w', 255);
	strcpy(line + 255, "\r");
	expect_lines(line, "", 256);
	memset(line, 'w', 257);
	line[257] = '\0';
	memset(want, 'w', 255);
	strcpy(want + 255, "+|");
	expect_lines(line, want, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_parse_hex),
		cmocka_unit_test(test_parse_settings),
		cmocka_unit_test(test_termios),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_line_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
