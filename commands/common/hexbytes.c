/*
 * Hex bytes in and out, for the bus plugins; hexbytes.h says what each
 * function accepts.  Compiled into every plugin, never a plugin itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexbytes.h"

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A character the way a message can show it: control bytes would
 * become blanks on the wire and hide what was wrong. */
static void
show_char(char *buf, size_t size, char c)
{
	unsigned char u = (unsigned char)c;

	if (u > ' ' && u < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", u);
}

/* One word's digits (after any 0x) into out at *n; 0 or -1 with why. */
static int
parse_word(const char *word, uint8_t *out, size_t max, size_t *n,
    char *why, size_t whylen)
{
	const char *p = word;
	char shown[16];
	size_t digits;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (*p == '\0') {
		snprintf(why, whylen, "bad bytes '%.40s': give hex digits, two "
		    "per byte (a5, 0xa5ff)", word);
		return -1;
	}
	for (digits = 0; p[digits] != '\0'; digits++) {
		if (hex_digit(p[digits]) < 0) {
			show_char(shown, sizeof(shown), p[digits]);
			snprintf(why, whylen, "bad bytes '%.40s': %s is not a "
			    "hex digit", word, shown);
			return -1;
		}
	}
	if (digits % 2 != 0) {
		snprintf(why, whylen, "bad bytes '%.40s': an odd number of hex "
		    "digits (two per byte: 0a, not a)", word);
		return -1;
	}
	for (size_t i = 0; i < digits; i += 2) {
		if (*n == max) {
			snprintf(why, whylen, "too many bytes: at most %zu", max);
			return -1;
		}
		out[(*n)++] = (uint8_t)(hex_digit(p[i]) << 4 |
		    hex_digit(p[i + 1]));
	}
	return 0;
}

int
hexbytes_parse(int argc, const char *const *argv, uint8_t *out, size_t max,
    size_t *n, char *why, size_t whylen)
{
	size_t count = 0;

	if (argc < 1) {
		snprintf(why, whylen, "no bytes given");
		return -1;
	}
	for (int i = 0; i < argc; i++)
		if (parse_word(argv[i], out, max, &count, why, whylen) == -1)
			return -1;
	*n = count;
	return 0;
}

bool
hexbytes_parse_number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *p = s;
	unsigned base = 10;
	int d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		return false;		/* C's octal: see hexbytes.h */
	}
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		d = hex_digit(*p);
		if (d < 0 || (unsigned)d >= base)
			return false;
		/* Stop before v * base + d can exceed max (or wrap). */
		if ((unsigned long)d > max ||
		    v > (max - (unsigned long)d) / base)
			return false;
		v = v * base + (unsigned long)d;
	}
	*out = v;
	return true;
}

size_t
hexbytes_format(const uint8_t *b, size_t n, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = 0;

	if (size == 0)
		return 0;
	if (n > 0 && size < 3 * n) {
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			out[len++] = ' ';
		out[len++] = digits[b[i] >> 4];
		out[len++] = digits[b[i] & 0xf];
	}
	out[len] = '\0';
	return len;
}

void
hexbytes_reply(const struct picmd_api *api, picmd_ctx *ctx, const uint8_t *b,
    size_t n)
{
	size_t size = n > 0 ? 3 * n : 1;
	char *text;

	if ((text = malloc(size)) == NULL) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	hexbytes_format(b, n, text, size);
	api->reply_ok(ctx, "%s", text);
	free(text);
}
