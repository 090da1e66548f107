/* picmd, the client: the modes it runs in. */
#ifndef PICMD_CLIENT_H
#define PICMD_CLIENT_H

#include "net.h"

/* Exit codes. */
#define EXIT_REPLY_OK	0
#define EXIT_REPLY_ERR	1
#define EXIT_TROUBLE	2	/* usage, connection, timeout */

/* Print one reply as the one-shot mode does; returns an exit code. */
int	reply_print(const char *line);
/* Requests from stdin, pipelined on one connection. */
int	run_batch(const struct target *t);
/* The interactive prompt. */
int	run_interactive(const struct target *t);
/* picmd watch ...: subscribe and print events (watch.c). */
int	run_watch(const struct target *t, int argc, char **argv);

/* --lease (lease.c): LEASE on the connection, then keep-alives.
 * lease_wait_ms: how long until the next one (-1: no lease);
 * lease_keepalive sends it when due; lease_reply spots its replies. */
int	lease_start(const struct target *t, int fd, struct linereader *lr);
long	lease_wait_ms(const struct target *t);
int	lease_keepalive(const struct target *t, int fd);
/* The keep-alive line when one is due (and count it sent), else NULL. */
const char *lease_due(const struct target *t);
/* What ends the lease cleanly before a normal exit ("" without one). */
const char *lease_end_line(const struct target *t);
bool	lease_reply(const char *line);

/* One request, its result delivered to a callback port. */
int	run_callback(const struct target *t, const char *request,
	    const char *port);

#endif
