/*
 * The inside of a connection, shared by conn.c (I/O, framing, reply
 * order) and conn_access.c (authentication, timeouts, callback mode).
 * Loop thread only.
 */
#ifndef PICMD_CONN_PRIV_H
#define PICMD_CONN_PRIV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event_struct.h>

#include "conn.h"
#include "evqueue.h"
#include "request.h"
#include "topic.h"

/* Before AUTH a line is a password at most: keep the door narrow. */
#define PREAUTH_MAX_LINE 256
#define MAX_AUTH_FAILURES 3

/* Bytes data[off..len) are valid; memory is released when idle. */
struct iobuf {
	char	*data;
	size_t	 off;
	size_t	 len;
	size_t	 cap;
};

TAILQ_HEAD(request_list, request);

struct conn {
	TAILQ_ENTRY(conn)	 link;		/* server's connections */
	TAILQ_ENTRY(conn)	 dirty_link;	/* server's to-flush list */
	TAILQ_ENTRY(conn)	 sub_link;	/* server's subscribers */
	struct subs		 subs;		/* SUBSCRIBE patterns */
	struct evqueue		 evq;		/* events not yet in out */
	uint32_t		 lease_ms;	/* LEASE: 0 when none */
	uint64_t		 lease_id;
	struct timespec		 lease_seen;	/* last read, monotonic */
	struct event		 lease_ev;	/* looks at lease_seen */
	struct server		*srv;
	int			 fd;
	struct event		 ev_read;	/* added while we read */
	struct event		 ev_write;	/* added while output waits */
	struct iobuf		 in;
	struct iobuf		 out;
	struct request_list	 order;		/* untagged, in request order */
	struct request_list	 tagged;	/* tagged, on a worker */
	struct request		*untagged_running; /* the one on a worker */
	unsigned		 pending;	/* accepted, reply not written */
	int			 holds;		/* callbacks using the conn */
	bool			 dead;		/* close when holds drops to 0 */
	bool			 dirty;		/* on the to-flush list */
	bool			 reading;	/* ev_read added */
	bool			 writing;	/* ev_write added */
	bool			 paused;	/* too many pending: not reading */
	bool			 eof;		/* peer finished sending */
	bool			 no_read;	/* server draining */
	bool			 input_done;	/* QUIT, TOOLONG, AUTH failures */
	bool			 quit;		/* BYE owed once pending is 0 */
	bool			 closing;	/* flushing, then close */
	bool			 authed;
	bool			 admin;		/* may run PICMD_CMD_ADMIN */
	uint8_t			 auth_failures;
	in_port_t		 cb_port;	/* callback mode when non-zero */
	socklen_t		 peer_len;	/* 0 for Unix clients */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 peer_addr;
	time_t			 opened;	/* monotonic seconds */
	time_t			 last_active;	/* last complete request */
	const char		*cur_tag;	/* tag of the line being run */
	char			*quit_tag;
	struct pg_conn		*pg;		/* speaks pigpio, when set */
	char			 peer[48];
};

void	conn_hold(struct conn *c);
void	conn_release(struct conn *c);
void	conn_answer(struct conn *c, const char *tag, int code,
	    const char *text);
void	conn_stop_reading(struct conn *c);
void	conn_arm_timeout(struct request *r);
/* Append a line made of three pieces to the output (-1: closed). */
int	conn_put_line(struct conn *c, const char *a, const char *b, size_t blen,
	    const char *end, size_t endlen);
size_t	conn_output_used(const struct conn *c);
/* Run one command given as words: exactly one reply follows. */
void	conn_run(struct conn *c, const char *tag, int argc, char **argv);
/* Output was appended: send it at the end of this loop iteration. */
void	conn_output_ready(struct conn *c);

/* conn_access.c */
bool	looks_like_http(const char *line, size_t len);
void	conn_submit_callback(struct conn *c, const struct command *cmd,
	    const char *tag, int argc, char *const *argv);
void	conn_free_buffers_if_idle(struct conn *c);

#endif
