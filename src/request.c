#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "request.h"

static void
request_run(struct job *job)
{
	struct request *r = (struct request *)job;

	r->cmd->handler(&r->ctx, r->argc, (const char *const *)r->argv);
	if (r->ctx.payload.failed) {
		r->ctx.code = PICMD_ERR_INTERNAL;
		strbuf_free(&r->ctx.payload);
		strbuf_adds(&r->ctx.payload, "out of memory");
	}
	request_set_reply(r, r->ctx.code, r->ctx.payload.data,
	    r->ctx.payload.len);
}

/*
 * Freed requests of the common size are kept for reuse.  At a high rate
 * of plugin commands, malloc, free and the trimming of the heap between
 * bursts cost the loop thread more than parsing and dispatching the line;
 * a list pop and push cost nothing.  In the daemon requests are made and
 * freed on the loop thread only; the list is per thread all the same, so
 * a test may run commands from several threads, and it needs no lock.
 */
#define REQUEST_BLOCK		512	/* the request and a few short words */
#define REQUEST_CACHE_MAX	1024	/* 512 KiB at most, given back idle */

static_assert(sizeof(struct request) <= REQUEST_BLOCK, "REQUEST_BLOCK");

struct free_request {
	struct free_request *next;
};

static _Thread_local struct free_request *cache;
static _Thread_local unsigned cached;
static _Thread_local unsigned cached_low;	/* fewest since the last trim */

static void *
block_get(size_t size)
{
	struct free_request *f;

	if (size > REQUEST_BLOCK)
		return malloc(size);
	if ((f = cache) == NULL)
		return malloc(REQUEST_BLOCK);
	cache = f->next;
	if (--cached < cached_low)
		cached_low = cached;
	return f;
}

static void
block_put(void *p, bool small)
{
	struct free_request *f = p;

	if (!small || cached >= REQUEST_CACHE_MAX) {
		free(p);
		return;
	}
	f->next = cache;
	cache = f;
	cached++;
}

void
request_cache_trim(bool all)
{
	/* The cached_low blocks at the bottom of the list were not needed
	 * since the last trim: give back as many. */
	unsigned keep = all || cached_low > cached ? 0 : cached - cached_low;

	while (cached > keep) {
		struct free_request *f = cache;

		cache = f->next;
		cached--;
		free(f);
	}
	cached_low = cached;
}

/*
 * One allocation holds the request, its argv array and the words, so a
 * request costs a single allocation.
 */
struct request *
request_new(const char *tag, int argc, char *const *argv)
{
	size_t words = 0, size, argv_off;
	struct request *r;
	char *p;

	for (int i = 0; i < argc; i++)
		words += strlen(argv[i]) + 1;
	if (tag != NULL)
		words += strlen(tag) + 1;
	argv_off = (sizeof(*r) + alignof(char *) - 1) &
	    ~(alignof(char *) - 1);
	size = argv_off + (size_t)(argc + 1) * sizeof(char *) + words;
	if ((r = block_get(size)) == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->small = size <= REQUEST_BLOCK;
	r->job.run = request_run;
	r->argc = argc;
	r->argv = (char **)(void *)((char *)r + argv_off);
	p = (char *)(r->argv + argc + 1);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(p, argv[i], n);
		r->argv[i] = p;
		p += n;
	}
	r->argv[argc] = NULL;
	if (tag != NULL) {
		memcpy(p, tag, strlen(tag) + 1);
		r->tag = p;
	}
	strbuf_init(&r->ctx.payload);
	strbuf_init(&r->out);
	return r;
}

void
request_free(struct request *r)
{
	if (r == NULL)
		return;
	strbuf_free(&r->ctx.payload);
	strbuf_free(&r->out);
	block_put(r, r->small);
}

void
request_set_reply(struct request *r, int code, const char *text, size_t len)
{
	strbuf_reset(&r->out);
	proto_format_reply(&r->out, r->tag, code, text, len);
	r->code = code;
	if (r->out.failed) {
		/* Keep the one-reply promise even without memory. */
		strbuf_free(&r->out);
		proto_format_reply(&r->out, r->tag, PICMD_ERR_INTERNAL,
		    "out of memory", 13);
		r->code = PICMD_ERR_INTERNAL;
	}
}

void
timespec_after_ms(struct timespec *ts, const struct timespec *from, long ms)
{
	*ts = *from;
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void *
ctx_state(picmd_ctx *ctx)
{
	return ctx->state;
}

void
ctx_reply_ok(picmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	ctx->code = 0;
	strbuf_reset(&ctx->payload);
	va_start(ap, fmt);
	strbuf_vaddf(&ctx->payload, fmt, ap);
	va_end(ap);
}

void
ctx_reply_append(picmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&ctx->payload, fmt, ap);
	va_end(ap);
}

void
ctx_reply_error(picmd_ctx *ctx, enum picmd_error code, const char *fmt, ...)
{
	va_list ap;

	/* Plugins answer only the codes of the ABI. */
	if (proto_code_name((int)code) == NULL || (int)code >= REPLY_UNKNOWN)
		code = PICMD_ERR_INTERNAL;
	ctx->code = (int)code;
	strbuf_reset(&ctx->payload);
	va_start(ap, fmt);
	strbuf_vaddf(&ctx->payload, fmt, ap);
	va_end(ap);
}

long
ctx_remaining_ms(picmd_ctx *ctx)
{
	struct timespec now;
	long long ns;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(ctx->deadline.tv_sec - now.tv_sec) * 1000000000LL +
	    (ctx->deadline.tv_nsec - now.tv_nsec);
	/* Round up: a handler that waits remaining_ms() reaches the
	 * deadline instead of stopping a fraction of a millisecond short. */
	ms = ns > 0 ? (long)((ns + 999999) / 1000000) : 0;
	return ms;
}
