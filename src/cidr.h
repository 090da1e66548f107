/*
 * Address allow-lists: "192.168.1.0/24", "10.0.0.7", "fd00::/8", "::1".
 * IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 entries.
 */
#ifndef PICMD_CIDR_H
#define PICMD_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];
	int	prefix;		/* bits */
};

/* 0 on success; -1 when text is not an address with an optional /bits. */
int	cidr_parse(const char *text, struct cidr *out);
bool	cidr_match(const struct cidr *c, const struct sockaddr *sa);
bool	cidr_match_any(const struct cidr *list, int n, const struct sockaddr *sa);
/* Same IP address (ports ignored). */
bool	sockaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

#endif
