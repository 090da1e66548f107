/*
 * A growable byte string.  Used for reply lines; starts with a small inline
 * buffer so the common short reply needs no allocation beyond its owner.
 */
#ifndef PICMD_STRBUF_H
#define PICMD_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "picmd/plugin.h"

#define STRBUF_INLINE 56

struct strbuf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	bool	 failed;	/* an allocation failed; content is truncated */
	char	 inline_buf[STRBUF_INLINE];
};

void	strbuf_init(struct strbuf *sb);
void	strbuf_free(struct strbuf *sb);
void	strbuf_reset(struct strbuf *sb);
void	strbuf_add(struct strbuf *sb, const void *p, size_t n);
void	strbuf_addc(struct strbuf *sb, char c);
void	strbuf_adds(struct strbuf *sb, const char *s);
void	strbuf_addf(struct strbuf *sb, const char *fmt, ...) PICMD_PRINTF(2, 3);
void	strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	    PICMD_PRINTF(2, 0);
/* NUL-terminated view of the content. */
const char *strbuf_str(struct strbuf *sb);

#endif
