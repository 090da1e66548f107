/*
 * Listening sockets: bind every configured endpoint, accept clients,
 * enforce max_clients, and back off when out of file descriptors.
 */
#ifndef PICMD_LISTENER_H
#define PICMD_LISTENER_H

struct server;

/* Bind every endpoint of s->cfg; -1 (after logging) when one fails. */
int	listeners_open(struct server *s);
/* Serve n sockets passed by socket activation instead. */
int	listeners_adopt(struct server *s, int n);
/* Stop accepting; unlink Unix socket files. */
void	listeners_close(struct server *s);
void	listeners_free(struct server *s);

#endif
