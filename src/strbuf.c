#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void
strbuf_init(struct strbuf *sb)
{
	sb->data = sb->inline_buf;
	sb->len = 0;
	sb->cap = sizeof(sb->inline_buf);
	sb->failed = false;
	sb->data[0] = '\0';
}

void
strbuf_free(struct strbuf *sb)
{
	if (sb->data != sb->inline_buf)
		free(sb->data);
	strbuf_init(sb);
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->failed = false;
	sb->data[0] = '\0';
}

/* Make room for n more bytes plus a NUL; false when memory ran out. */
static bool
strbuf_reserve(struct strbuf *sb, size_t n)
{
	size_t need, cap;
	char *p;

	if (sb->failed)
		return false;
	need = sb->len + n + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap * 2;
	while (cap < need)
		cap *= 2;
	if (sb->data == sb->inline_buf) {
		if ((p = malloc(cap)) != NULL)
			memcpy(p, sb->data, sb->len + 1);
	} else
		p = realloc(sb->data, cap);
	if (p == NULL) {
		sb->failed = true;
		return false;
	}
	sb->data = p;
	sb->cap = cap;
	return true;
}

void
strbuf_add(struct strbuf *sb, const void *p, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, p, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
strbuf_addc(struct strbuf *sb, char c)
{
	strbuf_add(sb, &c, 1);
}

void
strbuf_adds(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void
strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sb->cap - sb->len) {
		sb->len += (size_t)n;
		return;
	}
	if (!strbuf_reserve(sb, (size_t)n)) {
		sb->data[sb->len] = '\0';
		return;
	}
	vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
	sb->len += (size_t)n;
}

void
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

const char *
strbuf_str(struct strbuf *sb)
{
	return sb->data;
}
