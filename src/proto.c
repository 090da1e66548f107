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

static enum proto_status
fail(struct proto_request *req, const char *why)
{
	req->error = why;
	return PROTO_ERROR;
}

enum proto_status
proto_parse(const char *line, size_t len, char *out, struct proto_request *req)
{
	size_t i = 0;
	char *o = out;

	req->tag = NULL;
	req->argc = 0;
	req->error = NULL;

	for (size_t k = 0; k < len; k++)
		if (is_control((unsigned char)line[k]))
			return fail(req, "control character in request");

	while (i < len && is_space((unsigned char)line[i]))
		i++;
	if (i == len)
		return PROTO_BLANK;

	if (line[i] == '#') {
		size_t start = ++i;

		while (i < len && !is_space((unsigned char)line[i]))
			i++;
		if (!proto_tag_valid(line + start, i - start))
			return fail(req, "bad tag: 1 to 64 of A-Z a-z 0-9 . _ : -");
		memcpy(o, line + start, i - start);
		req->tag = o;
		o += i - start;
		*o++ = '\0';
	}

	for (;;) {
		while (i < len && is_space((unsigned char)line[i]))
			i++;
		if (i == len)
			break;
		if (req->argc == PROTO_MAX_WORDS)
			return fail(req, "too many words (at most 128)");
		req->argv[req->argc++] = o;

		if (line[i] != '"') {
			while (i < len && !is_space((unsigned char)line[i])) {
				if (line[i] == '"')
					return fail(req, "quote inside a word");
				*o++ = line[i++];
			}
			*o++ = '\0';
			continue;
		}

		for (i++;; i++) {
			if (i == len)
				return fail(req, "unterminated quote");
			if (line[i] == '"')
				break;
			if (line[i] != '\\') {
				*o++ = line[i];
				continue;
			}
			if (++i == len)
				return fail(req, "unterminated quote");
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
				return fail(req, "bad escape in quotes (use \\\" \\\\ \\n \\t)");
			}
		}
		i++;	/* closing quote */
		if (i < len && !is_space((unsigned char)line[i]))
			return fail(req, "closing quote must end a word");
		*o++ = '\0';
	}

	if (req->argc == 0)
		return fail(req, "missing command after tag");
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

static void
add_sanitized(struct strbuf *sb, const char *text, size_t len)
{
	size_t start = sb->len;

	strbuf_add(sb, text, len);
	if (sb->failed)
		return;
	for (size_t i = start; i < sb->len; i++)
		if (is_control((unsigned char)sb->data[i]) || sb->data[i] == '\t')
			sb->data[i] = ' ';
}

void
proto_format_reply(struct strbuf *sb, const char *tag, int code,
    const char *text, size_t textlen)
{
	if (tag != NULL) {
		strbuf_addc(sb, '#');
		strbuf_adds(sb, tag);
		strbuf_addc(sb, ' ');
	}
	if (code == REPLY_OK) {
		strbuf_add(sb, "OK", 2);
		if (textlen > 0) {
			strbuf_addc(sb, ' ');
			add_sanitized(sb, text, textlen);
		}
	} else {
		const char *name = proto_code_name(code);

		strbuf_add(sb, "ERR ", 4);
		strbuf_adds(sb, name != NULL ? name : "INTERNAL");
		if (textlen > 0) {
			strbuf_addc(sb, ' ');
			add_sanitized(sb, text, textlen);
		}
	}
	strbuf_addc(sb, '\n');
}
