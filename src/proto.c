/*
 * Request grammar (docs/PROTOCOL.md):
 *
 *   line   = [ "#" tag ] word { ws word }
 *   word   = bare | quoted
 *   bare   = 1*( any byte but ws, '"' and control characters )
 *   quoted = '"' { char | '\"' | '\\' | '\n' | '\t' } '"'
 *
 * A quoted word must stand alone: the closing quote is followed by white
 * space or the end of the line.  Being strict here keeps the grammar free
 * of shell-like surprises and makes every malformed line an ERR PROTO.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

static const char *const code_names[] = {
	[PICMD_ERR_ARGS] = "ARGS",
	[PICMD_ERR_DEVICE] = "DEVICE",
	[PICMD_ERR_BUSY] = "BUSY",
	[PICMD_ERR_TIMEOUT] = "TIMEOUT",
	[PICMD_ERR_DENIED] = "DENIED",
	[PICMD_ERR_INTERNAL] = "INTERNAL",
};

const char *
proto_code_name(int code)
{
	switch (code) {
	case REPLY_UNKNOWN:
		return "UNKNOWN";
	case REPLY_PROTO:
		return "PROTO";
	case REPLY_TOOLONG:
		return "TOOLONG";
	default:
		if (code > 0 && (size_t)code < sizeof(code_names) /
		    sizeof(code_names[0]))
			return code_names[code];
		return NULL;
	}
}

int
proto_code_parse(const char *name, size_t len)
{
	static const int all[] = { PICMD_ERR_ARGS, PICMD_ERR_DEVICE,
	    PICMD_ERR_BUSY, PICMD_ERR_TIMEOUT, PICMD_ERR_DENIED,
	    PICMD_ERR_INTERNAL, REPLY_UNKNOWN, REPLY_PROTO, REPLY_TOOLONG };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = proto_code_name(all[i]);
		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return all[i];
	}
	return -1;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool
is_tag_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	    c == '-';
}

bool
proto_tag_valid(const char *tag, size_t len)
{
	if (len < 1 || len > PROTO_TAG_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tag_char((unsigned char)tag[i]))
			return false;
	return true;
}

/*
 * What the tokenizer must stop at, one table lookup per byte: white space,
 * the quote and control characters.  Every other byte, backslash
 * included, is part of a bare word.
 */
enum { C_SPACE = 1, C_QUOTE = 2, C_CTRL = 4 };

static const unsigned char char_class[256] = {
	[0 ... 8] = C_CTRL, ['\t'] = C_SPACE, [10 ... 31] = C_CTRL,
	[' '] = C_SPACE, ['"'] = C_QUOTE, [0x7f] = C_CTRL,
};

#define CLASS(c)	char_class[(unsigned char)(c)]

static enum proto_status
fail(struct proto_request *req, const char *why)
{
	req->error = why;
	return PROTO_ERROR;
}

/* Nothing of such a line is trusted, its tag neither. */
static enum proto_status
fail_control(struct proto_request *req)
{
	req->tag = NULL;
	return fail(req, "control character in request");
}

/*
 * A line with a control character anywhere is refused for that, whatever
 * else is wrong with it and wherever it is.  A line that parses has had
 * every byte looked at, so only an error needs to look at the rest.
 */
static enum proto_status
fail_line(struct proto_request *req, const char *line, size_t len,
    const char *why)
{
	for (size_t k = 0; k < len; k++)
		if (CLASS(line[k]) & C_CTRL)
			return fail_control(req);
	return fail(req, why);
}

enum proto_status
proto_parse(const char *line, size_t len, char *out, struct proto_request *req)
{
	size_t i = 0, start;
	char *o = out;

	req->tag = NULL;
	req->argc = 0;
	req->error = NULL;

	while (i < len && CLASS(line[i]) == C_SPACE)
		i++;
	if (i == len)
		return PROTO_BLANK;

	if (line[i] == '#') {
		start = ++i;
		while (i < len && CLASS(line[i]) != C_SPACE)
			i++;
		if (!proto_tag_valid(line + start, i - start))
			return fail_line(req, line, len,
			    "bad tag: 1 to 64 of A-Z a-z 0-9 . _ : -");
		memcpy(o, line + start, i - start);
		req->tag = o;
		o += i - start;
		*o++ = '\0';
	}

	for (;;) {
		while (i < len && CLASS(line[i]) == C_SPACE)
			i++;
		if (i == len)
			break;
		if (req->argc == PROTO_MAX_WORDS)
			return fail_line(req, line, len,
			    "too many words (at most 128)");
		req->argv[req->argc++] = o;

		if (line[i] != '"') {
			start = i;
			while (i < len && CLASS(line[i]) == 0)
				i++;
			if (i < len && CLASS(line[i]) != C_SPACE)
				return fail_line(req, line, len,
				    "quote inside a word");
			memcpy(o, line + start, i - start);
			o += i - start;
			*o++ = '\0';
			continue;
		}

		for (i++;; i++) {
			if (i == len)
				return fail_line(req, line, len,
				    "unterminated quote");
			if (line[i] == '"')
				break;
			if (CLASS(line[i]) & C_CTRL)
				return fail_control(req);
			if (line[i] != '\\') {
				*o++ = line[i];
				continue;
			}
			if (++i == len)
				return fail_line(req, line, len,
				    "unterminated quote");
			switch (line[i]) {
			case '"':
			case '\\':
				*o++ = line[i];
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 't':
				*o++ = '\t';
				break;
			default:
				return fail_line(req, line, len,
				    "bad escape in quotes (use \\\" \\\\ \\n \\t)");
			}
		}
		i++;	/* closing quote */
		if (i < len && CLASS(line[i]) != C_SPACE)
			return fail_line(req, line, len,
			    "closing quote must end a word");
		*o++ = '\0';
	}

	if (req->argc == 0)
		return fail_line(req, line, len, "missing command after tag");
	return PROTO_REQUEST;
}

void
proto_quote_word(struct strbuf *sb, const char *word)
{
	bool plain = word[0] != '\0' && word[0] != '#';

	for (const char *p = word; *p != '\0' && plain; p++) {
		unsigned char c = (unsigned char)*p;
		if (is_space(c) || c == '"' || c == '\\' || is_control(c))
			plain = false;
	}
	if (plain) {
		strbuf_adds(sb, word);
		return;
	}
	strbuf_addc(sb, '"');
	for (const char *p = word; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			strbuf_adds(sb, "\\\"");
			break;
		case '\\':
			strbuf_adds(sb, "\\\\");
			break;
		case '\n':
			strbuf_adds(sb, "\\n");
			break;
		case '\t':
			strbuf_adds(sb, "\\t");
			break;
		default:
			/* Other control bytes cannot travel; send a space. */
			strbuf_addc(sb, is_control((unsigned char)*p) ? ' ' : *p);
			break;
		}
	}
	strbuf_addc(sb, '"');
}

size_t
proto_reply_size(const char *tag, int code, size_t textlen)
{
	size_t n = 0;

	if (tag != NULL)
		n += strlen(tag) + 2;
	if (code == REPLY_OK)
		n += 2;
	else {
		const char *name = proto_code_name(code);

		n += 4 + strlen(name != NULL ? name : "INTERNAL");
	}
	if (textlen > 0)
		n += 1 + textlen;
	return n + 1;
}

size_t
proto_reply_write(char *dst, const char *tag, int code, const char *text,
    size_t textlen)
{
	char *o = dst;

	if (tag != NULL) {
		size_t n = strlen(tag);

		*o++ = '#';
		memcpy(o, tag, n);
		o += n;
		*o++ = ' ';
	}
	if (code == REPLY_OK) {
		memcpy(o, "OK", 2);
		o += 2;
	} else {
		const char *name = proto_code_name(code);
		size_t n;

		if (name == NULL)
			name = "INTERNAL";
		n = strlen(name);
		memcpy(o, "ERR ", 4);
		memcpy(o + 4, name, n);
		o += 4 + n;
	}
	if (textlen > 0) {
		*o++ = ' ';
		for (size_t i = 0; i < textlen; i++) {
			unsigned char c = (unsigned char)text[i];

			*o++ = (is_control(c) || c == '\t') ? ' ' : (char)c;
		}
	}
	*o++ = '\n';
	return (size_t)(o - dst);
}

void
proto_format_reply(struct strbuf *sb, const char *tag, int code,
    const char *text, size_t textlen)
{
	size_t n = proto_reply_size(tag, code, textlen);

	/* Reserve through an empty add, then write in place. */
	strbuf_add(sb, "", 0);
	if (sb->failed || sb->cap - sb->len < n + 1) {
		char *tmp = malloc(n);

		if (tmp == NULL) {
			sb->failed = true;
			return;
		}
		proto_reply_write(tmp, tag, code, text, textlen);
		strbuf_add(sb, tmp, n);
		free(tmp);
		return;
	}
	proto_reply_write(sb->data + sb->len, tag, code, text, textlen);
	sb->len += n;
	sb->data[sb->len] = '\0';
}
