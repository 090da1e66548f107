/*
 * The client's sockets: connecting with a timeout, and reading reply lines
 * against a deadline.
 */
#ifndef PICMD_CLIENT_NET_H
#define PICMD_CLIENT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "strbuf.h"

struct target {
	const char	*host;
	const char	*port;
	const char	*unix_path;	/* overrides host and port */
	long		 timeout_ms;	/* connect, and each wait for a reply */
	const char	*token;		/* sent as AUTH first, or NULL */
	long		 lease_ms;	/* --lease: 0 for none */
};

/* Connected (and, with a token, authenticated) stream socket, or -1
 * after printing why to stderr; *denied is set when AUTH was refused. */
int	net_connect(const struct target *t);
extern bool net_auth_denied;
int	net_connect_raw(const struct target *t);

struct linereader {
	int		 fd;
	struct strbuf	 buf;
	size_t		 start;		/* first unread byte */
	bool		 eof;
};

void	lr_init(struct linereader *lr, int fd);
void	lr_free(struct linereader *lr);
/*
 * Next line (without LF/CRLF) into line.  Returns 1 for a line, 0 at EOF,
 * -1 on a socket error, -2 when timeout_ms passed with no complete line.
 */
int	lr_next(struct linereader *lr, struct strbuf *line, long timeout_ms);

/* Write all of buf; -1 on error. */
int	net_write_all(int fd, const char *buf, size_t len);

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

#endif
