/*
 * Callback delivery: results of commands sent in callback mode go to a
 * TCP port on the client's own address instead of the command connection.
 *
 * One target per (client address, port) holds the results waiting to be
 * written and at most one outgoing connection, which carries any number of
 * results.  A connect that fails is retried once after [callback] retry_ms;
 * a result is never sent twice, so nothing is retried once bytes may have
 * reached the peer.  Loop thread only.
 */
#ifndef PICMD_CALLBACK_H
#define PICMD_CALLBACK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct server;
struct cb_target;

#define CALLBACK_NOMEM		(-1)
#define CALLBACK_TOO_MANY	(-2)

/* Find or make the target for peer:port and take one reference on it (for
 * one result to come): 0, CALLBACK_TOO_MANY when max results are already
 * owed to it, or CALLBACK_NOMEM. */
int	callback_target(struct server *s, const struct sockaddr *peer,
	    socklen_t len, in_port_t port, unsigned max, struct cb_target **out);
/* Deliver one result line (ending in LF) and drop the reference. */
void	callback_deliver(struct cb_target *t, const char *line, size_t len);
/* Drop a reference without a result (the result was lost). */
void	callback_release(struct cb_target *t);
/* Targets still delivering (a drain waits for them). */
bool	callback_busy(struct server *s);
void	callback_free_all(struct server *s);

#endif
