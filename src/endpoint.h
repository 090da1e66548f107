/*
 * Listen endpoints: "127.0.0.1:15769", "[::1]:15769", "0.0.0.0:15769",
 * "unix:/run/picmd/picmd.sock".  Numeric addresses only, so a config never
 * depends on name resolution at boot.
 */
#ifndef PICMD_ENDPOINT_H
#define PICMD_ENDPOINT_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#define ENDPOINT_TEXT_MAX 128

struct endpoint {
	int			family;	/* AF_INET, AF_INET6 or AF_UNIX */
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
	char			text[ENDPOINT_TEXT_MAX];  /* as configured */
};

/* 0 on success; -1 with *why set to a static explanation. */
int	endpoint_parse(const char *text, struct endpoint *ep, const char **why);
/* Write "1.2.3.4:5", "[::1]:5" or "unix:/p" into buf. */
void	endpoint_format(const struct sockaddr *sa, socklen_t len, char *buf,
	    size_t size);
bool	endpoint_is_loopback(const struct endpoint *ep);

#endif
