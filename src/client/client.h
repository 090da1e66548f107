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
/* One request, its result delivered to a callback port. */
int	run_callback(const struct target *t, const char *request,
	    const char *port);

#endif
