#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

static int
parse_port(const char *s, in_port_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

int
endpoint_parse(const char *text, struct endpoint *ep, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hstart;
	size_t hlen;
	in_port_t port;

	memset(ep, 0, sizeof(*ep));
	if (strlen(text) >= sizeof(ep->text)) {
		*why = "address too long";
		return -1;
	}
	strcpy(ep->text, text);

	if (strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;
		const char *path = text + 5;

		if (path[0] != '/') {
			*why = "unix socket path must be absolute";
			return -1;
		}
		if (strlen(path) >= sizeof(sun->sun_path)) {
			*why = "unix socket path too long";
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		ep->family = AF_UNIX;
		ep->addrlen = sizeof(*sun);
		return 0;
	}

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		hstart = text + 1;
		hlen = (size_t)(close - hstart);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || strchr(text, ':') != colon) {
			*why = "expected ADDRESS:PORT, [IPv6]:PORT or unix:/PATH";
			return -1;
		}
		hstart = text;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "missing or bad address";
		return -1;
	}
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (parse_port(colon + 1, &port) == -1) {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}

	if (text[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*why = "not a numeric IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		ep->family = AF_INET6;
		ep->addrlen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*why = "not a numeric IPv4 address";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		ep->family = AF_INET;
		ep->addrlen = sizeof(*sin);
	}
	return 0;
}

void
endpoint_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size)
{
	char host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;

		if (len <= (socklen_t)offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] == '\0')
			snprintf(buf, size, "unix");
		else
			snprintf(buf, size, "unix:%s", sun->sun_path);
		break;
	}
	default:
		snprintf(buf, size, "unknown");
		break;
	}
}

bool
endpoint_is_loopback(const struct endpoint *ep)
{
	switch (ep->family) {
	case AF_UNIX:
		return true;
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->addr;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&ep->addr;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	}
	return false;
}
