/*
 * Leases of connections (lease.c): LEASE <ms> | OFF, and the failsafe's
 * on_lost program when one is lost.  Loop thread only.
 */
#ifndef PICMD_LEASE_H
#define PICMD_LEASE_H

#include "pool.h"
#include "strbuf.h"

struct conn;
struct server;

/* The LEASE built-in: a reply code, text for an error. */
int	conn_lease(struct conn *c, const char *arg, struct strbuf *text);
/* The connection is closing: a lease it still holds is lost. */
void	conn_lease_closed(struct conn *c);
/* The pool hands an on_lost job back here: true when it was one. */
int	lease_job_done(struct job *job, struct server *s);

#endif
