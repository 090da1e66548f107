/*
 * The server: the event loop and everything it owns.  Only the loop thread
 * touches this structure (workers see requests, never the server), so the
 * counters are plain integers.
 */
#ifndef PICMD_SERVER_H
#define PICMD_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "config.h"
#include "deadline.h"
#include "proto.h"

struct event_base;
struct event;
struct conn;
struct listener;
struct failsafe;

struct stats {
	uint64_t	connections_total;
	uint64_t	rejected_total;		/* refused: too many clients */
	uint64_t	commands_total;		/* non-blank request lines */
	uint64_t	replies_total;
	uint64_t	errors_total;		/* ERR replies */
	uint64_t	busy_total;
	uint64_t	timeouts_total;
	uint64_t	dropped_total;		/* client gone before reply */
	uint64_t	callbacks_sent;		/* results written to callbacks */
	uint64_t	callbacks_failed;	/* results that could not be */
	uint64_t	denied_total;		/* refused by [security] allow */
	uint64_t	auth_failed_total;
	uint64_t	http_rejected_total;
	uint64_t	idle_closed_total;
	uint64_t	events_delivered;	/* "!" lines written */
	uint64_t	events_dropped;		/* by full subscriber queues */
	uint64_t	leases_lost_total;
	uint64_t	failsafe_runs_total;
};

TAILQ_HEAD(conn_list, conn);
TAILQ_HEAD(cb_target_list, cb_target);

struct server {
	struct event_base	*base;
	struct config		*cfg;
	struct dispatch		*dispatch;
	struct plugins		*plugins;
	struct pool		*pool;
	struct listener		*listeners;
	int			 nlisteners;

	struct conn_list	 conns;
	struct conn_list	 dirty;		/* output to send */
	struct conn_list	 subscribers;	/* conns with subscriptions */
	unsigned		 nsubscriptions;
	pthread_rwlock_t	 subs_lock;	/* writers: the loop; readers:
						 * plugins asking subscribed() */
	struct events		*bus;		/* published events */
	struct event		*events_ev;	/* bus -> loop */
	struct event		*ready_ev;	/* says READY, once */
	struct fdwatch_set	*watches;	/* plugins' descriptors */
	unsigned		 nleases;	/* connections holding one */
	uint64_t		 next_lease_id;
	struct failsafe		*failsafe[FAILSAFE_NPROGRAMS];
	struct pigpio_state	*pigpio;	/* [pigpio] listens */
	struct event		*flush_ev;	/* sends it, once per loop */
	bool			 kick_pending;	/* jobs queued, no worker woken */
	time_t			 now;		/* now_ts in seconds */
	struct timespec		 now_ts;	/* CLOCK_MONOTONIC, cached */
	char			 rbuf[16384];	/* scratch for reads */
	struct cb_target_list	 cb_targets;
	uint64_t		 next_callback_id;
	unsigned		 nclients;
	unsigned		 jobs_out;	/* submitted, not yet drained */
	unsigned		 jobs_held;	/* untagged, behind another */
	struct stats		 stats;
	struct timespec		 started;	/* CLOCK_MONOTONIC */

	struct event		*wake;		/* workers -> loop */
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*sig_hup;
	struct event		*drain_timer;
	struct event		*sweep_timer;	/* idle and auth timeouts */
	struct event		*watchdog_timer;
	bool			 draining;
	bool			 drain_expired;	/* unfinished ones answered */

	struct deadlines	 deadlines;	/* of requests on workers */

	/* Scratch space for tokenizing one line on the loop thread. */
	char			*words;
	struct proto_request	 preq;
};

/* Called after pool_submit(): the workers are woken once, at the end of
 * the loop iteration, after every ready connection has been read. */
void	server_kick_later(struct server *s);

/* Called when a connection went away, to finish a drain. */
void	server_conn_gone(struct server *s);
/* Register the built-in commands. */
int	builtin_register(struct dispatch *d);
void	server_stats(struct server *s, struct strbuf *out);

struct server *server_new(struct config *cfg);	/* takes cfg */

/*
 * Refresh the cached clock.  The loop reads it once per batch of lines and
 * once per batch of results, not per request: deadlines start from it, and
 * idle time is counted in its whole seconds.
 */
static inline void
s_now_update(struct server *s)
{
	clock_gettime(CLOCK_MONOTONIC, &s->now_ts);
	s->now = s->now_ts.tv_sec;
}
int	server_start(struct server *s);
int	server_run(struct server *s);
void	server_free(struct server *s);
#endif
