/*
 * A request that runs on a worker: created by the loop thread when a line
 * names a plugin command, handed to the pool, and handed back.
 *
 * Ownership: fields under "loop" are touched only by the loop thread.
 * Fields under "shared" are written by the loop before pool_submit() and
 * then only read until the job comes back; `ctx` and `out` are written by
 * the worker while the job is RUNNING and read by the loop only after
 * pool_drain() has returned the job.
 */
#ifndef PICMD_REQUEST_H
#define PICMD_REQUEST_H

#include <stdbool.h>
#include <sys/queue.h>
#include <time.h>

#include "dispatch.h"
#include "picmd/plugin.h"
#include "pool.h"
#include "strbuf.h"

struct conn;
struct cb_target;
struct server;

struct picmd_ctx {
	struct strbuf	 payload;	/* OK payload or error message */
	int		 code;		/* REPLY_OK or an error code */
	void		*state;		/* the plugin's state */
	struct timespec	 deadline;	/* CLOCK_MONOTONIC */
	uint64_t	 lease;		/* the connection's, or 0 */
	bool		 admin;		/* may run PICMD_CMD_ADMIN commands */
};

struct request {
	struct job		 job;

	/* loop */
	TAILQ_ENTRY(request)	 link;		/* conn's reply order/tagged */
	struct conn		*conn;		/* NULL once detached */
	struct cb_target	*cb;		/* callback mode: where to */
	struct server		*srv;
	TAILQ_ENTRY(request)	 deadline_link;	/* server's deadline list */
	bool			 deadline_armed; /* on that list */
	bool			 in_pool;	/* submitted, not yet drained */
	bool			 held;		/* untagged, waiting for the one
						 * before it: not yet submitted */
	bool			 answered;	/* out holds the final line */
	bool			 small;		/* a cached block's size */
	int			 code;		/* of the final line */

	/* shared */
	const struct command	*cmd;
	const char		*tag;		/* or NULL */
	int			 argc;
	char			**argv;
	struct picmd_ctx	 ctx;
	struct strbuf		 out;		/* the whole reply line */
};

/* A request for cmd with argv copied; NULL when out of memory. */
struct request *request_new(const char *tag, int argc, char *const *argv);
void	request_free(struct request *r);
/* Give back the freed requests kept for reuse that were not needed since
 * the last call (every second, from the sweep timer), or all of them. */
void	request_cache_trim(bool all);
/* Fill r->out with the reply line for code and text. */
void	request_set_reply(struct request *r, int code, const char *text,
	    size_t len);

void	timespec_after_ms(struct timespec *ts, const struct timespec *from,
	    long ms);

/* The run-time half of struct picmd_api. */
void	*ctx_state(picmd_ctx *ctx);
void	 ctx_reply_ok(picmd_ctx *ctx, const char *fmt, ...) PICMD_PRINTF(2, 3);
void	 ctx_reply_append(picmd_ctx *ctx, const char *fmt, ...)
	    PICMD_PRINTF(2, 3);
void	 ctx_reply_error(picmd_ctx *ctx, enum picmd_error code,
	    const char *fmt, ...) PICMD_PRINTF(3, 4);
long	 ctx_remaining_ms(picmd_ctx *ctx);

#endif
