/*
 * libFuzzer harness for the request parser (src/proto.c).
 *
 * Every input is used four ways:
 *
 *  1. Whole: the input, less one trailing LF and then one CR, is one
 *     request line for proto_parse().
 *  2. Stream: the input is the byte stream of one connection, framed the
 *     way conn_process_input() in src/conn.c frames it: split on LF, strip
 *     one CR, a line longer than max_line ends the input ("ERR TOOLONG"),
 *     the last line needs no LF at EOF.  The stream arrives in chunks whose
 *     sizes (and the max_line) come from a generator seeded by the input's
 *     last four bytes, so the fuzzer chooses the split points.  The same
 *     stream is also framed whole and one byte at a time: all three must
 *     give the same lines, since TCP may split a stream anywhere.  Each line
 *     is parsed.
 *  3. Round trip: every word of every parsed request, quoted with
 *     proto_quote_word() and parsed again, is the same word; the whole
 *     request rebuilt from its tag and quoted words parses to the same
 *     request.
 *  4. Replies: proto_format_reply() on the input as text (with a code
 *     chosen by the first byte, and with and without the tag of the parsed
 *     request) gives exactly one LF, at the end, and no other control byte.
 *
 * Any broken property aborts, which libFuzzer reports as a crash.
 * Keep the framing below in step with src/conn.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "strbuf.h"

/* As in src/conn_priv.h: the line limit before AUTH. */
#define PREAUTH_MAX_LINE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* ---- parsing with checks on the result ---- */

/*
 * Parse line into a fresh heap buffer of exactly len + 1 bytes (so that
 * AddressSanitizer sees any write past what the contract allows) and check
 * the result's shape.  Returns the buffer; the caller frees it.
 */
static char *
parse_checked(const char *line, size_t len, struct proto_request *req,
    enum proto_status *st)
{
	char *out = malloc(len + 1);

	CHECK(out != NULL);
	*st = proto_parse(line, len, out, req);
	switch (*st) {
	case PROTO_REQUEST:
		CHECK(req->argc >= 1 && req->argc <= PROTO_MAX_WORDS);
		CHECK(req->error == NULL);
		if (req->tag != NULL) {
			CHECK(req->tag >= out && req->tag < out + len + 1);
			CHECK(proto_tag_valid(req->tag, strlen(req->tag)));
		}
		for (int i = 0; i < req->argc; i++) {
			const char *w = req->argv[i];

			CHECK(w >= out && w < out + len + 1);
			CHECK(memchr(w, '\0', (size_t)(out + len + 1 - w)) !=
			    NULL);
			/* Only \n and \t (from escapes) may be control bytes. */
			for (const char *p = w; *p != '\0'; p++) {
				unsigned char c = (unsigned char)*p;
				CHECK(c >= 0x20 || c == '\n' || c == '\t');
				CHECK(c != 0x7f);
			}
		}
		break;
	case PROTO_BLANK:
		for (size_t i = 0; i < len; i++)
			CHECK(line[i] == ' ' || line[i] == '\t');
		break;
	case PROTO_ERROR:
		CHECK(req->error != NULL && req->error[0] != '\0');
		CHECK(strchr(req->error, '\n') == NULL);
		break;
	default:
		CHECK(!"proto_parse returned an unknown status");
	}
	return out;
}

/* ---- round trip: quote, parse, compare ---- */

static void
roundtrip_word(const char *word)
{
	struct proto_request req;
	enum proto_status st;
	struct strbuf sb;
	char *out;

	strbuf_init(&sb);
	proto_quote_word(&sb, word);
	CHECK(!sb.failed);
	out = parse_checked(sb.data, sb.len, &req, &st);
	CHECK(st == PROTO_REQUEST);
	CHECK(req.tag == NULL);
	CHECK(req.argc == 1);
	CHECK(strcmp(req.argv[0], word) == 0);
	free(out);
	strbuf_free(&sb);
}

static void
roundtrip_request(const struct proto_request *orig)
{
	struct proto_request req;
	enum proto_status st;
	struct strbuf sb;
	char *out;

	strbuf_init(&sb);
	if (orig->tag != NULL) {
		strbuf_addc(&sb, '#');
		strbuf_adds(&sb, orig->tag);
		strbuf_addc(&sb, ' ');
	}
	for (int i = 0; i < orig->argc; i++) {
		if (i > 0)
			strbuf_addc(&sb, ' ');
		proto_quote_word(&sb, orig->argv[i]);
	}
	CHECK(!sb.failed);
	out = parse_checked(sb.data, sb.len, &req, &st);
	CHECK(st == PROTO_REQUEST);
	CHECK((req.tag == NULL) == (orig->tag == NULL));
	if (req.tag != NULL)
		CHECK(strcmp(req.tag, orig->tag) == 0);
	CHECK(req.argc == orig->argc);
	for (int i = 0; i < req.argc; i++)
		CHECK(strcmp(req.argv[i], orig->argv[i]) == 0);
	free(out);
	strbuf_free(&sb);
}

/* ---- replies ---- */

static void
check_reply(const char *tag, int code, const char *text, size_t len)
{
	struct strbuf sb;
	const char *nl;

	strbuf_init(&sb);
	proto_format_reply(&sb, tag, code, text, len);
	CHECK(!sb.failed);
	CHECK(sb.len >= 3);
	nl = memchr(sb.data, '\n', sb.len);
	CHECK(nl == sb.data + sb.len - 1);
	for (size_t i = 0; i + 1 < sb.len; i++) {
		unsigned char c = (unsigned char)sb.data[i];
		CHECK(c >= 0x20 && c != 0x7f);
	}
	if (tag != NULL) {
		size_t tl = strlen(tag);

		CHECK(sb.data[0] == '#' && memcmp(sb.data + 1, tag, tl) == 0 &&
		    sb.data[tl + 1] == ' ');
	}
	strbuf_free(&sb);
}

static const int reply_codes[] = { REPLY_OK, PICMD_ERR_ARGS,
    PICMD_ERR_DEVICE, PICMD_ERR_BUSY, PICMD_ERR_TIMEOUT, PICMD_ERR_DENIED,
    PICMD_ERR_INTERNAL, REPLY_UNKNOWN, REPLY_PROTO, REPLY_TOOLONG,
    /* not codes: must still give one well-formed line */
    -1, 7, 99, 103, 1000 };

/* ---- one line, as the daemon handles it ---- */

static void
handle_line(const char *line, size_t len)
{
	struct proto_request req;
	enum proto_status st;
	char *out;

	out = parse_checked(line, len, &req, &st);
	if (st == PROTO_REQUEST) {
		for (int i = 0; i < req.argc; i++)
			roundtrip_word(req.argv[i]);
		roundtrip_request(&req);
		check_reply(req.tag, REPLY_OK, req.argv[0],
		    strlen(req.argv[0]));
	} else if (st == PROTO_ERROR)
		check_reply(req.tag, REPLY_PROTO, req.error,
		    strlen(req.error));
	free(out);
}

/* ---- framing, as conn_process_input() does it ---- */

struct framer {
	uint8_t	*buf;		/* bytes received and not yet consumed */
	size_t	 len;
	size_t	 max;		/* max_line */
	bool	 toolong;	/* ERR TOOLONG sent; input ignored after */
	/* What came out, for comparing chunkings: each line + '\n'. */
	struct strbuf lines;
	size_t	 nlines;
};

static void
framer_init(struct framer *f, size_t cap, size_t max)
{
	f->buf = malloc(cap > 0 ? cap : 1);
	CHECK(f->buf != NULL);
	f->len = 0;
	f->max = max;
	f->toolong = false;
	strbuf_init(&f->lines);
	f->nlines = 0;
}

static void
framer_free(struct framer *f)
{
	free(f->buf);
	strbuf_free(&f->lines);
}

static void
framer_process(struct framer *f, bool eof, bool parse)
{
	size_t off = 0;

	while (!f->toolong) {
		size_t avail = f->len - off, scan, len, consume;
		const uint8_t *p = f->buf + off, *nl;

		if (avail == 0)
			break;
		scan = avail < f->max + 2 ? avail : f->max + 2;
		if ((nl = memchr(p, '\n', scan)) != NULL) {
			len = (size_t)(nl - p);
			consume = len + 1;
		} else if (scan == f->max + 2) {
			f->toolong = true;
			break;
		} else if (eof) {
			len = consume = avail;
		} else
			break;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > f->max) {
			f->toolong = true;
			break;
		}
		CHECK(memchr(p, '\n', len) == NULL);
		strbuf_add(&f->lines, p, len);
		strbuf_addc(&f->lines, '\n');
		CHECK(!f->lines.failed);
		f->nlines++;
		if (parse) {
			/* A heap copy of exactly the line, for ASan. */
			char *line = malloc(len > 0 ? len : 1);

			CHECK(line != NULL);
			memcpy(line, p, len);
			handle_line(line, len);
			free(line);
		}
		off += consume;
	}
	if (f->toolong)
		off = f->len;	/* the daemon drains and stops reading */
	memmove(f->buf, f->buf + off, f->len - off);
	f->len -= off;
}

static void
framer_feed(struct framer *f, const uint8_t *p, size_t n, bool parse)
{
	if (f->toolong)
		return;
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	framer_process(f, false, parse);
}

static uint32_t
xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void
fuzz_stream(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 64, 65, 100, PREAUTH_MAX_LINE, 4096 };
	struct framer whole, bytes, chunks;
	uint32_t seed = 0x9e3779b9u;
	size_t max, off;

	for (size_t i = size >= 4 ? size - 4 : 0; i < size; i++)
		seed = seed * 31 + data[i];
	if (seed == 0)
		seed = 1;
	max = maxes[xorshift32(&seed) % (sizeof(maxes) / sizeof(maxes[0]))];

	/* The reference: everything at once, then EOF. */
	framer_init(&whole, size, max);
	framer_feed(&whole, data, size, false);
	framer_process(&whole, true, false);

	/* Chunks of the fuzzer's choosing; these lines are parsed. */
	framer_init(&chunks, size, max);
	for (off = 0; off < size;) {
		uint32_t r = xorshift32(&seed);
		size_t n = (r & 3) == 0 ? 1 + (r >> 8) % (max + 3) :
		    1 + (r >> 8) % 16;

		if (n > size - off)
			n = size - off;
		framer_feed(&chunks, data + off, n, true);
		off += n;
	}
	framer_process(&chunks, true, true);

	/* One byte at a time (slow clients, or a CR and its LF apart); the
	 * rescans make this quadratic, so only on short inputs. */
	framer_init(&bytes, size, max);
	if (size <= 1024) {
		for (off = 0; off < size; off++)
			framer_feed(&bytes, data + off, 1, false);
	} else
		framer_feed(&bytes, data, size, false);
	framer_process(&bytes, true, false);

	CHECK(whole.toolong == chunks.toolong && whole.toolong == bytes.toolong);
	CHECK(whole.nlines == chunks.nlines && whole.nlines == bytes.nlines);
	CHECK(whole.lines.len == chunks.lines.len &&
	    memcmp(whole.lines.data, chunks.lines.data, whole.lines.len) == 0);
	CHECK(whole.lines.len == bytes.lines.len &&
	    memcmp(whole.lines.data, bytes.lines.data, whole.lines.len) == 0);
	/* At EOF everything is consumed: as lines, or dropped as too long. */
	CHECK(whole.len == 0 && chunks.len == 0 && bytes.len == 0);
	framer_free(&whole);
	framer_free(&chunks);
	framer_free(&bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request req;
	enum proto_status st;
	size_t len = size;
	char *line, *out;
	int code;

	/* 1. The whole input as one line (less its line ending). */
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	line = malloc(len > 0 ? len : 1);
	CHECK(line != NULL);
	memcpy(line, data, len);
	handle_line(line, len);

	/* 4. Replies around arbitrary text. */
	out = parse_checked(line, len, &req, &st);
	code = reply_codes[(size > 0 ? data[0] : 0) %
	    (sizeof(reply_codes) / sizeof(reply_codes[0]))];
	check_reply(req.tag, code, (const char *)data, size);
	if (req.tag != NULL)
		check_reply(NULL, code, (const char *)data, size);
	free(out);
	free(line);

	/* 2 and 3. The input as a connection's byte stream. */
	fuzz_stream(data, size);
	return 0;
}
