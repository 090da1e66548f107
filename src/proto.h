/*
 * picmd protocol 1: request tokenizing and reply formatting.
 * Pure functions (bytes in, structure out), shared by the daemon and the
 * client, and fuzzed on their own.  docs/PROTOCOL.md is the contract.
 */
#ifndef PICMD_PROTO_H
#define PICMD_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

#define PROTO_VERSION	1
#define PROTO_MAX_WORDS	128
#define PROTO_TAG_MAX	64

/* Reply codes: OK, the plugin ABI's errors, and those only the core uses. */
enum reply_code {
	REPLY_OK = 0,
	/* 1..99: enum picmd_error */
	REPLY_UNKNOWN = 100,
	REPLY_PROTO,
	REPLY_TOOLONG,
};

enum proto_status {
	PROTO_REQUEST,		/* req holds a tag (maybe) and >= 1 word */
	PROTO_BLANK,		/* nothing but spaces and tabs: no reply */
	PROTO_ERROR,		/* req->error says why; req->tag may be set */
};

struct proto_request {
	const char	*tag;		/* without '#', or NULL */
	int		 argc;
	char		*argv[PROTO_MAX_WORDS];
	const char	*error;		/* static text, on PROTO_ERROR */
};

/*
 * Tokenize one request line (without its line ending).  Words are written
 * NUL-terminated into out, which must hold at least len + 1 bytes; argv and
 * tag point into out.
 */
enum proto_status proto_parse(const char *line, size_t len, char *out,
	    struct proto_request *req);

bool	proto_tag_valid(const char *tag, size_t len);

/* Append word to sb, quoted and escaped when the protocol needs it. */
void	proto_quote_word(struct strbuf *sb, const char *word);

/* The wire name of a reply code ("ARGS", "DEVICE", ...), or NULL. */
const char *proto_code_name(int code);
/* Inverse of proto_code_name(); -1 when unknown. */
int	proto_code_parse(const char *name, size_t len);

/*
 * Append a whole reply line, "[#TAG ]OK[ payload]\n" or
 * "[#TAG ]ERR CODE message\n", to sb.  Control characters in the text
 * become spaces so a reply is always exactly one line.
 */
void	proto_format_reply(struct strbuf *sb, const char *tag, int code,
	    const char *text, size_t textlen);
/* The same in two steps, for writing straight into an output buffer:
 * the exact size of the line, then the line (returns its size). */
size_t	proto_reply_size(const char *tag, int code, size_t textlen);
size_t	proto_reply_write(char *dst, const char *tag, int code,
	    const char *text, size_t textlen);

#endif
