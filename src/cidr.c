#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int
cidr_parse(const char *text, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long bits;
	int max;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	memset(out, 0, sizeof(*out));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return -1;
	out->prefix = max;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno != 0 || end == slash + 1 || *end != '\0' || bits < 0 ||
		    bits > max)
			return -1;
		out->prefix = (int)bits;
	}
	return 0;
}

/* The peer's address bytes and family, unwrapping IPv4-mapped IPv6. */
static int
peer_bytes(const struct sockaddr *sa, const uint8_t **bytes)
{
	if (sa->sa_family == AF_INET) {
		*bytes = (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			*bytes = a6->s6_addr + 12;
			return AF_INET;
		}
		*bytes = a6->s6_addr;
		return AF_INET6;
	}
	return -1;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t *b = NULL;
	int full, rest;

	if (peer_bytes(sa, &b) != c->family)
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(b, c->addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((b[full] ^ c->addr[full]) & (0xff << (8 - rest))) == 0;
}

bool
cidr_match_any(const struct cidr *list, int n, const struct sockaddr *sa)
{
	for (int i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return true;
	return false;
}

bool
sockaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	const uint8_t *ba = NULL, *bb = NULL;
	int fa = peer_bytes(a, &ba), fb = peer_bytes(b, &bb);

	if (fa == -1 || fa != fb)
		return false;
	return memcmp(ba, bb, fa == AF_INET ? 4 : 16) == 0;
}
