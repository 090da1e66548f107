/*
 * Unit tests for src/proto.c: the request tokenizer (tags, quoting,
 * escapes, limits, garbage), word quoting and reply formatting.
 *
 * Every parse copies the line into a malloc'd buffer of exactly len bytes
 * (no NUL) and gives proto_parse() an output buffer of exactly len + 1
 * bytes, so AddressSanitizer catches any read or write past either end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "strbuf.h"

static char *in_buf;	/* the line, exactly len bytes */
static char *out_buf;	/* exactly len + 1 bytes */

static int
free_buffers(void **state)
{
	free(in_buf);
	free(out_buf);
	in_buf = out_buf = NULL;
	return 0;
}

static enum proto_status
parse_len(const char *line, size_t len, struct proto_request *req)
{
	free_buffers(NULL);
	in_buf = malloc(len > 0 ? len : 1);
	out_buf = malloc(len + 1);
	assert_non_null(in_buf);
	assert_non_null(out_buf);
	memcpy(in_buf, line, len);
	memset(out_buf, 0x55, len + 1);
	return proto_parse(in_buf, len, out_buf, req);
}

/* Parse line and check it is a request with this tag and these words. */
static void
expect_request_len(const char *line, size_t len, const char *tag,
    const char *const *words)
{
	struct proto_request req;
	int n = 0;

	while (words[n] != NULL)
		n++;
	assert_int_equal(parse_len(line, len, &req), PROTO_REQUEST);
	assert_null(req.error);
	if (tag == NULL)
		assert_null(req.tag);
	else {
		assert_non_null(req.tag);
		assert_string_equal(req.tag, tag);
	}
	assert_int_equal(req.argc, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(req.argv[i], words[i]);
}

#define EXPECT_WORDS(line, tag, ...) \
	expect_request_len((line), strlen(line), (tag), \
	    (const char *const[]){ __VA_ARGS__, NULL })

/* Parse line and check it is malformed; why_part is part of the message. */
static void
expect_error_len(const char *line, size_t len, const char *tag,
    const char *why_part)
{
	struct proto_request req;

	assert_int_equal(parse_len(line, len, &req), PROTO_ERROR);
	assert_non_null(req.error);
	if (why_part != NULL && strstr(req.error, why_part) == NULL)
		fail_msg("error '%s' does not mention '%s'", req.error,
		    why_part);
	if (tag == NULL)
		assert_null(req.tag);
	else {
		assert_non_null(req.tag);
		assert_string_equal(req.tag, tag);
	}
}

#define EXPECT_ERROR(line, why_part) \
	expect_error_len((line), strlen(line), NULL, (why_part))

/* ---- words and white space ---- */

static void
test_plain_words(void **state)
{
	EXPECT_WORDS("ping", NULL, "ping");
	EXPECT_WORDS("gpio write 17 1", NULL, "gpio", "write", "17", "1");
	EXPECT_WORDS("a-b_c.d:e/f=g", NULL, "a-b_c.d:e/f=g");
	/* Case is kept: only command lookup ignores it. */
	EXPECT_WORDS("ECHO MiXeD", NULL, "ECHO", "MiXeD");
}

static void
test_spaces_and_tabs(void **state)
{
	EXPECT_WORDS("  ping", NULL, "ping");
	EXPECT_WORDS("ping  \t ", NULL, "ping");
	EXPECT_WORDS("\tgpio\t\twrite   17 \t 1\t", NULL, "gpio", "write",
	    "17", "1");
}

static void
test_blank_lines(void **state)
{
	struct proto_request req;

	assert_int_equal(parse_len("", 0, &req), PROTO_BLANK);
	assert_int_equal(parse_len(" ", 1, &req), PROTO_BLANK);
	assert_int_equal(parse_len(" \t \t  ", 6, &req), PROTO_BLANK);
	/* A control character makes it garbage, not blank. */
	expect_error_len(" \x01 ", 3, NULL, "control");
}

/* ---- tags ---- */

static void
test_tags(void **state)
{
	char line[80], tag64[65];

	EXPECT_WORDS("#t1 ping", "t1", "ping");
	EXPECT_WORDS("  #t1\tgpio read 4", "t1", "gpio", "read", "4");
	EXPECT_WORDS("#A.b_c:d-9 ping", "A.b_c:d-9", "ping");
	/* Only a leading '#' word is a tag. */
	EXPECT_WORDS("echo #t1", NULL, "echo", "#t1");

	/* 64 characters is the limit. */
	memset(line, 'x', sizeof(line));
	line[0] = '#';
	memcpy(line + 65, " ping", 6);
	memset(tag64, 'x', 64);
	tag64[64] = '\0';
	EXPECT_WORDS(line, tag64, "ping");
	memset(line, 'x', sizeof(line));
	line[0] = '#';
	memcpy(line + 66, " ping", 6);
	EXPECT_ERROR(line, "tag");
}

static void
test_bad_tags(void **state)
{
	EXPECT_ERROR("# ping", "tag");
	EXPECT_ERROR("#", "tag");
	EXPECT_ERROR("#t/1 ping", "tag");
	EXPECT_ERROR("#t\"1\" ping", "tag");
	EXPECT_ERROR("#t#1 ping", "tag");
	EXPECT_ERROR("#caf\xc3\xa9 ping", "tag");
}

static void
test_tag_without_command(void **state)
{
	/* The tag is still known, so the error reply can carry it. */
	expect_error_len("#t1", 3, "t1", "command");
	expect_error_len("#t1 \t ", 6, "t1", "command");
}

static void
test_tag_valid(void **state)
{
	assert_true(proto_tag_valid("a", 1));
	assert_true(proto_tag_valid("Z9._:-", 6));
	assert_false(proto_tag_valid("", 0));
	assert_false(proto_tag_valid("a b", 3));
	assert_false(proto_tag_valid("a+b", 3));
	/* len is honoured: only "ab" is looked at. */
	assert_true(proto_tag_valid("ab cd", 2));
}

/* ---- quoting ---- */

static void
test_quoted_words(void **state)
{
	EXPECT_WORDS("echo \"a b\"", NULL, "echo", "a b");
	EXPECT_WORDS("echo \"\"", NULL, "echo", "");
	EXPECT_WORDS("echo \"\" x", NULL, "echo", "", "x");
	EXPECT_WORDS("\"ping\"", NULL, "ping");
	EXPECT_WORDS("echo \"a\" \"b\"\t\"c d\"", NULL, "echo", "a", "b",
	    "c d");
	EXPECT_WORDS("echo \"  lead and trail \t \"", NULL, "echo",
	    "  lead and trail \t ");
	/* '#' inside quotes or after the first word is plain text. */
	EXPECT_WORDS("echo \"#x\"", NULL, "echo", "#x");
	EXPECT_WORDS("\"#x\" y", NULL, "#x", "y");
}

static void
test_escapes(void **state)
{
	EXPECT_WORDS("echo \"a\\\"b\"", NULL, "echo", "a\"b");
	EXPECT_WORDS("echo \"a\\\\b\"", NULL, "echo", "a\\b");
	EXPECT_WORDS("echo \"a\\nb\"", NULL, "echo", "a\nb");
	EXPECT_WORDS("echo \"a\\tb\"", NULL, "echo", "a\tb");
	EXPECT_WORDS("echo \"\\\"\\\\\\n\\t\"", NULL, "echo", "\"\\\n\t");
	/* Outside quotes a backslash is an ordinary byte. */
	EXPECT_WORDS("echo a\\nb", NULL, "echo", "a\\nb");
}

static void
test_bad_quoting(void **state)
{
	EXPECT_ERROR("echo \"a\\xb\"", "escape");
	EXPECT_ERROR("echo \"a\\ b\"", "escape");
	EXPECT_ERROR("echo \"abc", "unterminated");
	EXPECT_ERROR("echo \"", "unterminated");
	EXPECT_ERROR("echo \"abc\\", "unterminated");
	EXPECT_ERROR("echo \"abc\\\"", "unterminated");
	EXPECT_ERROR("echo ab\"c\"", "quote");
	EXPECT_ERROR("echo ab\"", "quote");
	EXPECT_ERROR("echo \"ab\"c", "quote");
	EXPECT_ERROR("echo \"ab\"\"cd\"", "quote");
}

/* ---- bytes ---- */

static void
test_control_characters(void **state)
{
	EXPECT_ERROR("ping\r", "control");
	EXPECT_ERROR("echo a\nb", "control");
	EXPECT_ERROR("echo \"a\nb\"", "control");
	EXPECT_ERROR("\x1b[31mping", "control");
	EXPECT_ERROR("echo \x7f", "control");
	EXPECT_ERROR("echo \"\x7f\"", "control");
	expect_error_len("pi\0ng", 5, NULL, "control");
	expect_error_len("#t1 ping\0", 9, NULL, "control");
	expect_error_len("\0", 1, NULL, "control");
}

static void
test_high_bytes_accepted(void **state)
{
	EXPECT_WORDS("echo caf\xc3\xa9 \xff\x80", NULL, "echo", "caf\xc3\xa9",
	    "\xff\x80");
	EXPECT_WORDS("echo \"\xe2\x82\xac 5\"", NULL, "echo", "\xe2\x82\xac 5");
}

static void
test_word_limit(void **state)
{
	struct strbuf sb;
	struct proto_request req;

	strbuf_init(&sb);
	strbuf_adds(&sb, "#t echo");
	for (int i = 1; i < PROTO_MAX_WORDS; i++)
		strbuf_addf(&sb, " w%d", i);
	assert_int_equal(parse_len(sb.data, sb.len, &req), PROTO_REQUEST);
	assert_int_equal(req.argc, 128);
	assert_string_equal(req.argv[0], "echo");
	assert_string_equal(req.argv[127], "w127");

	strbuf_adds(&sb, " w128");
	expect_error_len(sb.data, sb.len, "t", "too many");

	/* Trailing white space after the 128th word is fine. */
	sb.len -= 5;
	strbuf_adds(&sb, " \t ");
	assert_int_equal(parse_len(sb.data, sb.len, &req), PROTO_REQUEST);
	assert_int_equal(req.argc, 128);
	strbuf_free(&sb);
}

/* The output buffer needs len + 1 bytes and no more, in the worst cases. */
static void
test_output_buffer_size(void **state)
{
	struct strbuf sb;
	char big[2001];

	/* Each word's NUL takes the place of the separator after it, and
	 * the last word's NUL is the one extra byte. */
	EXPECT_WORDS("a", NULL, "a");
	EXPECT_WORDS("a b c", NULL, "a", "b", "c");
	EXPECT_WORDS("\"\"", NULL, "");
	EXPECT_WORDS("\"\" \"\"", NULL, "", "");
	EXPECT_WORDS("#t a", "t", "a");
	EXPECT_WORDS("#t \"\"", "t", "");
	EXPECT_WORDS("x\t\"\\\"\"", NULL, "x", "\"");
	expect_error_len("#0123456789", 11, "0123456789", "command");

	/* One long bare word, then one long quoted word full of escapes. */
	memset(big, 'w', 2000);
	big[2000] = '\0';
	EXPECT_WORDS(big, NULL, big);

	strbuf_init(&sb);
	strbuf_addc(&sb, '"');
	for (int i = 0; i < 500; i++)
		strbuf_adds(&sb, "\\n");
	strbuf_addc(&sb, '"');
	memset(big, '\n', 500);
	big[500] = '\0';
	expect_request_len(sb.data, sb.len, NULL,
	    (const char *const[]){ big, NULL });
	strbuf_free(&sb);
}

/* ---- quoting words for the wire ---- */

static void
test_quote_plain_words_unchanged(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb);
	proto_quote_word(&sb, "ping");
	strbuf_addc(&sb, ' ');
	proto_quote_word(&sb, "caf\xc3\xa9");
	assert_string_equal(strbuf_str(&sb), "ping caf\xc3\xa9");

	strbuf_reset(&sb);
	proto_quote_word(&sb, "a b");
	assert_string_equal(strbuf_str(&sb), "\"a b\"");

	/* Control bytes that cannot be escaped travel as spaces. */
	strbuf_reset(&sb);
	proto_quote_word(&sb, "a\x01" "b");
	assert_string_equal(strbuf_str(&sb), "\"a b\"");
	strbuf_free(&sb);
}

static void
test_quote_round_trip(void **state)
{
	static const char *const words[] = {
		"", "plain", "a b", "  ", "say \"hi\"", "\"", "\\", "back\\slash",
		"a\\\"b", "line\nbreak", "\n", "tab\there", "\t", "#tag", "#",
		"a#b", "caf\xc3\xa9", "\"\\n\"", "end\\",
	};
	struct proto_request req;
	struct strbuf sb;

	strbuf_init(&sb);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		/* As an argument ... */
		strbuf_reset(&sb);
		strbuf_adds(&sb, "echo ");
		proto_quote_word(&sb, words[i]);
		strbuf_adds(&sb, " end");
		assert_int_equal(parse_len(sb.data, sb.len, &req),
		    PROTO_REQUEST);
		assert_int_equal(req.argc, 3);
		assert_string_equal(req.argv[1], words[i]);
		assert_string_equal(req.argv[2], "end");

		/* ... and as the first word, where '#' would start a tag. */
		strbuf_reset(&sb);
		proto_quote_word(&sb, words[i]);
		assert_int_equal(parse_len(sb.data, sb.len, &req),
		    PROTO_REQUEST);
		assert_null(req.tag);
		assert_int_equal(req.argc, 1);
		assert_string_equal(req.argv[0], words[i]);
	}
	strbuf_free(&sb);
}

/* ---- replies ---- */

static void
expect_reply(const char *tag, int code, const char *text, size_t len,
    const char *want)
{
	struct strbuf sb;

	strbuf_init(&sb);
	proto_format_reply(&sb, tag, code, text, len);
	assert_false(sb.failed);
	assert_string_equal(strbuf_str(&sb), want);
	assert_int_equal(sb.len, strlen(want));
	strbuf_free(&sb);
}

#define EXPECT_REPLY(tag, code, text, want) \
	expect_reply((tag), (code), (text), strlen(text), (want))

static void
test_reply_ok(void **state)
{
	EXPECT_REPLY(NULL, REPLY_OK, "", "OK\n");
	EXPECT_REPLY(NULL, REPLY_OK, "PONG", "OK PONG\n");
	EXPECT_REPLY("t1", REPLY_OK, "", "#t1 OK\n");
	EXPECT_REPLY("t1", REPLY_OK, "PONG", "#t1 OK PONG\n");
	/* textlen is honoured, not strlen. */
	expect_reply(NULL, REPLY_OK, "PONGxxx", 4, "OK PONG\n");
	EXPECT_REPLY(NULL, REPLY_OK, "caf\xc3\xa9", "OK caf\xc3\xa9\n");
}

static void
test_reply_errors(void **state)
{
	static const struct { int code; const char *want; } cases[] = {
		{ PICMD_ERR_ARGS, "ERR ARGS m\n" },
		{ PICMD_ERR_DEVICE, "ERR DEVICE m\n" },
		{ PICMD_ERR_BUSY, "ERR BUSY m\n" },
		{ PICMD_ERR_TIMEOUT, "ERR TIMEOUT m\n" },
		{ PICMD_ERR_DENIED, "ERR DENIED m\n" },
		{ PICMD_ERR_INTERNAL, "ERR INTERNAL m\n" },
		{ REPLY_UNKNOWN, "ERR UNKNOWN m\n" },
		{ REPLY_PROTO, "ERR PROTO m\n" },
		{ REPLY_TOOLONG, "ERR TOOLONG m\n" },
		/* A code with no name must still give a well-formed line. */
		{ 99, "ERR INTERNAL m\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		EXPECT_REPLY(NULL, cases[i].code, "m", cases[i].want);
	EXPECT_REPLY("x:1", PICMD_ERR_ARGS, "usage: diag sleep <ms>",
	    "#x:1 ERR ARGS usage: diag sleep <ms>\n");
	EXPECT_REPLY(NULL, REPLY_UNKNOWN, "", "ERR UNKNOWN\n");
}

static void
test_reply_is_one_line(void **state)
{
	struct strbuf sb;
	char big[1000];

	EXPECT_REPLY(NULL, REPLY_OK, "a\nb\r\nc\td\x01" "e\x7f" "f",
	    "OK a b  c d e f\n");
	EXPECT_REPLY(NULL, REPLY_OK, "done\n", "OK done \n");
	EXPECT_REPLY("t", PICMD_ERR_DEVICE, "open /dev/x:\nfailed\r",
	    "#t ERR DEVICE open /dev/x: failed \n");
	expect_reply(NULL, REPLY_OK, "a\0b", 3, "OK a b\n");

	/* Long payloads (past the inline buffer) are sanitised as well. */
	memset(big, '\n', sizeof(big));
	strbuf_init(&sb);
	proto_format_reply(&sb, "t", REPLY_OK, big, sizeof(big));
	assert_false(sb.failed);
	assert_int_equal(sb.len, strlen("#t OK ") + sizeof(big) + 1);
	assert_ptr_equal(memchr(sb.data, '\n', sb.len), sb.data + sb.len - 1);
	strbuf_free(&sb);
}

static void
test_code_names(void **state)
{
	static const struct { int code; const char *name; } codes[] = {
		{ PICMD_ERR_ARGS, "ARGS" },
		{ PICMD_ERR_DEVICE, "DEVICE" },
		{ PICMD_ERR_BUSY, "BUSY" },
		{ PICMD_ERR_TIMEOUT, "TIMEOUT" },
		{ PICMD_ERR_DENIED, "DENIED" },
		{ PICMD_ERR_INTERNAL, "INTERNAL" },
		{ REPLY_UNKNOWN, "UNKNOWN" },
		{ REPLY_PROTO, "PROTO" },
		{ REPLY_TOOLONG, "TOOLONG" },
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *n = proto_code_name(codes[i].code);

		assert_non_null(n);
		assert_string_equal(n, codes[i].name);
		assert_int_equal(proto_code_parse(n, strlen(n)), codes[i].code);
	}
	assert_null(proto_code_name(REPLY_OK));
	assert_null(proto_code_name(-1));
	assert_null(proto_code_name(PICMD_ERR_INTERNAL + 1));
	assert_null(proto_code_name(REPLY_TOOLONG + 1));

	/* len bounds the name, as when reading it out of a reply line. */
	assert_int_equal(proto_code_parse("ARGS usage", 4), PICMD_ERR_ARGS);
	assert_int_equal(proto_code_parse("ARGS", 3), -1);
	assert_int_equal(proto_code_parse("ARGSX", 5), -1);
	assert_int_equal(proto_code_parse("OK", 2), -1);
	assert_int_equal(proto_code_parse("", 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, free_buffers)
		T(test_plain_words),
		T(test_spaces_and_tabs),
		T(test_blank_lines),
		T(test_tags),
		T(test_bad_tags),
		T(test_tag_without_command),
		T(test_tag_valid),
		T(test_quoted_words),
		T(test_escapes),
		T(test_bad_quoting),
		T(test_control_characters),
		T(test_high_bytes_accepted),
		T(test_word_limit),
		T(test_output_buffer_size),
		T(test_quote_plain_words_unchanged),
		T(test_quote_round_trip),
		T(test_reply_ok),
		T(test_reply_errors),
		T(test_reply_is_one_line),
		T(test_code_names),
#undef T
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
