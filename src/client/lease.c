/*
 * --lease MS: the session's connection holds a lease (LEASE MS, see
 * docs/PROTOCOL.md) and keeps it with a tagged PING every MS/3, whose
 * replies are swallowed, so the daemon's failsafe runs only when this
 * client is really gone (killed, unplugged, its network down).
 */
#include <stdio.h>
#include <string.h>

#include "client.h"

#define LEASE_TAG	"#picmd-lease"

static long long next_ping;

int
lease_start(const struct target *t, int fd, struct linereader *lr)
{
	struct strbuf line;
	char req[64];
	int got, rc = -1;

	if (t->lease_ms == 0)
		return 0;
	snprintf(req, sizeof(req), "%s LEASE %ld\n", LEASE_TAG, t->lease_ms);
	if (net_write_all(fd, req, strlen(req)) == -1) {
		perror("picmd: send");
		return -1;
	}
	strbuf_init(&line);
	got = lr_next(lr, &line, t->timeout_ms);
	if (got == 1 && strcmp(line.data, LEASE_TAG " OK") == 0)
		rc = 0;
	else if (got == 1)
		fprintf(stderr, "picmd: LEASE refused: %s\n", line.data);
	else
		fprintf(stderr, "picmd: no answer to LEASE\n");
	strbuf_free(&line);
	next_ping = now_ms() + t->lease_ms / 3;
	return rc;
}

long
lease_wait_ms(const struct target *t)
{
	long long left;

	if (t->lease_ms == 0)
		return -1;
	left = next_ping - now_ms();
	return left > 0 ? (long)left : 0;
}

const char *
lease_due(const struct target *t)
{
	if (t->lease_ms == 0 || now_ms() < next_ping)
		return NULL;
	next_ping = now_ms() + t->lease_ms / 3;
	return LEASE_TAG " PING\n";
}

const char *
lease_end_line(const struct target *t)
{
	return t->lease_ms != 0 ? LEASE_TAG " LEASE OFF\n" : "";
}

int
lease_keepalive(const struct target *t, int fd)
{
	const char *ping = lease_due(t);

	if (ping == NULL)
		return 0;
	if (net_write_all(fd, ping, strlen(ping)) == -1) {
		fprintf(stderr, "picmd: connection lost; the lease will be "
		    "lost too\n");
		return -1;
	}
	return 0;
}

bool
lease_reply(const char *line)
{
	return strncmp(line, LEASE_TAG " ", sizeof(LEASE_TAG)) == 0;
}
