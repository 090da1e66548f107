#include <stdio.h>
#include <sys/types.h>
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

/* Digits of v, most significant first, into the end of buf; returns the
 * first digit. */
static char *
format_unsigned(char *end, unsigned long long v)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

static void
add_signed(struct strbuf *sb, long long v)
{
	char buf[24], *end = buf + sizeof(buf), *p;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	p = format_unsigned(end, u);
	if (v < 0)
		*--p = '-';
	strbuf_add(sb, p, (size_t)(end - p));
}

static void
add_unsigned(struct strbuf *sb, unsigned long long v)
{
	char buf[24], *end = buf + sizeof(buf), *p;

	p = format_unsigned(end, v);
	strbuf_add(sb, p, (size_t)(end - p));
}

/*
 * Replies are short and their formats plain ("slept %ld", "%s:%u"), and
 * vsnprintf() spends more on setting up than on such a string.  This does
 * the plain conversions itself: %s %c %d %i %u with l, ll or z, and %%.
 * Any other (a width, a flag, a precision, %x, %f) makes it return false
 * having consumed part of ap; the caller starts again with vsnprintf().
 */
static bool
vaddf_plain(struct strbuf *sb, const char *fmt, va_list ap)
{
	const char *lit;

	for (;;) {
		for (lit = fmt; *fmt != '\0' && *fmt != '%'; fmt++)
			;
		if (fmt > lit)
			strbuf_add(sb, lit, (size_t)(fmt - lit));
		if (*fmt == '\0')
			return true;
		fmt++;			/* the '%' */
		int longs = 0;
		bool size = false;

		if (*fmt == 'z') {
			size = true;
			fmt++;
		} else
			while (*fmt == 'l' && longs < 2) {
				longs++;
				fmt++;
			}
		switch (*fmt++) {
		case '%':
			if (longs > 0 || size)
				return false;
			strbuf_addc(sb, '%');
			break;
		case 's':
			if (longs > 0 || size)
				return false;
			{
				const char *str = va_arg(ap, const char *);

				strbuf_adds(sb, str != NULL ? str : "(null)");
			}
			break;
		case 'c':
			if (longs > 0 || size)
				return false;
			strbuf_addc(sb, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i':
			add_signed(sb, size ? (long long)va_arg(ap, ssize_t) :
			    longs == 2 ? va_arg(ap, long long) :
			    longs == 1 ? va_arg(ap, long) : va_arg(ap, int));
			break;
		case 'u':
			add_unsigned(sb, size ? va_arg(ap, size_t) :
			    longs == 2 ? va_arg(ap, unsigned long long) :
			    longs == 1 ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned));
			break;
		default:
			return false;
		}
	}
}

void
strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	size_t start = sb->len;
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	if (vaddf_plain(sb, fmt, ap2)) {
		va_end(ap2);
		return;
	}
	va_end(ap2);
	/* Not plain: undo, and let the C library do it. */
	if (!sb->failed) {
		sb->len = start;
		sb->data[start] = '\0';
	}
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
