/*
 * Bytes the way clients of the bus plugins (i2c, spi; serial later)
 * write and read them.  In: one or more words of hex digits, each an even
 * number of digits, optionally 0x-prefixed, concatenated ("a5", "0xa5 ff"
 * and "a5ff00" are all accepted).  Out: two lowercase digits per byte,
 * separated by spaces ("OK 1f 02 a0"), which the same parser reads back.
 * Also the numbers those plugins take (addresses, registers, counts), in
 * hex or decimal as C writes them.
 *
 * Not a plugin: compiled into every plugin like sysfs.c; no state, so
 * any worker thread may call it.
 */
#ifndef PICMD_COMMON_HEXBYTES_H
#define PICMD_COMMON_HEXBYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <picmd/plugin.h>

#pragma GCC visibility push(hidden)

/*
 * The argc words of argv as bytes, concatenated, into out (room for max
 * bytes).  0 with the count (at least 1) in *n; -1 with the reason in why
 * (a message for ERR ARGS naming the word at fault, or the limit when the
 * words hold more than max bytes).
 */
int	hexbytes_parse(int argc, const char *const *argv, uint8_t *out,
	    size_t max, size_t *n, char *why, size_t whylen);

/*
 * A number as C writes it in hex or decimal: "0x48", "0X4f", "72".  No
 * sign, no blanks, no octal: "010" is refused rather than read as 8 (C)
 * or 10 (a person), since either reading surprises someone.  true with
 * the value in *out when it is at most max.
 */
bool	hexbytes_parse_number(const char *s, unsigned long max,
	    unsigned long *out);

/*
 * "1f 02 a0" into out, which needs 3 * n bytes (1 for n == 0); the
 * length written, or 0 when size is too small (out is then "").
 */
size_t	hexbytes_format(const uint8_t *b, size_t n, char *out, size_t size);

/* "OK 1f 02 a0" (a bare "OK" for n == 0); ERR INTERNAL when out of
 * memory. */
void	hexbytes_reply(const struct picmd_api *api, picmd_ctx *ctx,
	    const uint8_t *b, size_t n);

#pragma GCC visibility pop

#endif
