#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "cidr.h"
#include "compat_pigpio.h"
#include "conn.h"
#include "endpoint.h"
#include "listener.h"
#include "log.h"
#include "server.h"

#define LISTEN_BACKLOG	511

struct listener {
	struct server		*srv;
	struct evconnlistener	*evl;
	struct event		*backoff;
	struct endpoint		 ep;
	bool			 adopted;	/* from the service manager */
	bool			 pigpio;	/* its clients speak pigpio */
	char			 bound[ENDPOINT_TEXT_MAX];
};

/* A client whose address a list does not name: closed and counted. */
static void
refuse(struct server *s, int fd, const struct sockaddr *sa, int salen,
    const char *list)
{
	char peer[ENDPOINT_TEXT_MAX];

	endpoint_format(sa, (socklen_t)salen, peer, sizeof(peer));
	log_info("refused %s: not in %s", peer, list);
	close(fd);
	s->stats.denied_total++;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	static const char busy[] = "ERR BUSY too many clients\n";
	struct listener *l = arg;
	struct server *s = l->srv;
	struct conn *c;

	(void)evl;
	if (s->draining) {
		close(fd);
		return;
	}
	if (l->ep.family != AF_UNIX && s->cfg->nallow > 0 &&
	    !cidr_match_any(s->cfg->allow, s->cfg->nallow, sa)) {
		refuse(s, fd, sa, salen, "[security] allow");
		return;
	}
	if (l->pigpio && !pigpio_allows(s->pigpio, l->ep.family, sa)) {
		refuse(s, fd, sa, salen, "[pigpio] allow");
		return;
	}
	if (s->nclients >= (unsigned)s->cfg->max_clients ||
	    (l->ep.family != AF_UNIX && s->cfg->max_clients_per_ip > 0 &&
	    conn_count_from(s, sa) >= (unsigned)s->cfg->max_clients_per_ip)) {
		/* Best effort: the socket is non-blocking and new, so the
		 * line fits in its buffer; a client that is gone is fine. */
		(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
		close(fd);
		s->stats.rejected_total++;
		return;
	}
	c = conn_new(s, fd, sa, (socklen_t)salen, l->ep.family == AF_UNIX);
	if (c != NULL && l->pigpio && pigpio_conn_attach(c) == -1) {
		log_warnx("out of memory accepting a pigpio client");
		conn_close(c);
	}
}

static void
backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->evl);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		/* Out of descriptors: pause instead of spinning on accept. */
		errno = err;
		log_warn("accept on %s; pausing for 1 s", l->bound);
		evconnlistener_disable(evl);
		evtimer_add(l->backoff, &tv);
		return;
	}
	errno = err;
	log_warn("accept on %s", l->bound);
}

static int
open_socket(struct listener *l)
{
	const struct endpoint *ep = &l->ep;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int fd, one = 1;
	mode_t old_mask;

	fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("%s: socket", ep->text);
		return -1;
	}
	if (ep->family == AF_UNIX) {
		const struct sockaddr_un *sun =
		    (const struct sockaddr_un *)&ep->addr;
		struct stat st;

		/* Replace a stale socket, never any other kind of file. */
		if (lstat(sun->sun_path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				log_warnx("%s: exists and is not a socket",
				    ep->text);
				close(fd);
				return -1;
			}
			unlink(sun->sun_path);
		}
		/* The mode is set by bind() from the umask; this runs
		 * before any worker thread exists. */
		old_mask = umask(0777 & ~(mode_t)l->srv->cfg->unix_mode);
		if (bind(fd, (const struct sockaddr *)&ep->addr,
		    ep->addrlen) == -1) {
			umask(old_mask);
			log_warn("%s: bind", ep->text);
			close(fd);
			return -1;
		}
		umask(old_mask);
	} else {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		/* [::] should not also take IPv4: list 0.0.0.0 for that. */
		if (ep->family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, (const struct sockaddr *)&ep->addr,
		    ep->addrlen) == -1) {
			log_warn("%s: bind", ep->text);
			close(fd);
			return -1;
		}
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ep->family != AF_UNIX)
		endpoint_format((struct sockaddr *)&ss, sslen, l->bound,
		    sizeof(l->bound));
	else
		strcpy(l->bound, ep->text);
	return fd;
}

static int
listener_start(struct server *s, struct listener *l, int fd)
{
	l->evl = evconnlistener_new(s->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, LISTEN_BACKLOG, fd);
	if (l->evl == NULL) {
		log_warn("%s: listen", l->bound);
		close(fd);
		return -1;
	}
	s->nlisteners++;
	evconnlistener_set_error_cb(l->evl, accept_error_cb);
	if ((l->backoff = evtimer_new(s->base, backoff_cb, l)) == NULL)
		return -1;
	log_info("listening on %s%s", l->bound, l->adopted ?
	    " (socket activation)" : l->pigpio ? " (pigpio)" : "");
	return 0;
}

/* Bind and listen on n endpoints into s->listeners from index first. */
static int
open_endpoints(struct server *s, int first, const struct endpoint *eps,
    int n, bool pigpio)
{
	for (int i = 0; i < n; i++) {
		struct listener *l = &s->listeners[first + i];
		int fd;

		l->srv = s;
		l->ep = eps[i];
		l->pigpio = pigpio;
		if ((fd = open_socket(l)) == -1 ||
		    listener_start(s, l, fd) == -1)
			return -1;
	}
	return 0;
}

/* The pigpio front-end's endpoints (not socket-activated: a second
 * protocol is opt-in, and its port is its own). */
static int
npigpio(const struct server *s)
{
	return s->pigpio != NULL ? pigpio_listen_count(s->pigpio) : 0;
}

static const struct endpoint *
pigpio_endpoints(const struct server *s)
{
	return s->pigpio != NULL ? pigpio_listen(s->pigpio) : NULL;
}

/*
 * Serve the n sockets the service manager passed (fds 3 .. 3+n-1) instead
 * of [server] listen.  Protected mode applies to them as well.
 */
int
listeners_adopt(struct server *s, int n)
{
	if ((s->listeners = calloc((size_t)(n + npigpio(s)),
	    sizeof(*s->listeners))) == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		struct listener *l = &s->listeners[i];
		int fd = 3 + i, type = 0, flags;
		socklen_t len = sizeof(type);

		l->srv = s;
		l->adopted = true;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
		    type != SOCK_STREAM) {
			log_warnx("socket activation: fd %d is not a stream "
			    "socket", fd);
			return -1;
		}
		l->ep.addrlen = sizeof(l->ep.addr);
		if (getsockname(fd, (struct sockaddr *)&l->ep.addr,
		    &l->ep.addrlen) == -1) {
			log_warn("socket activation: fd %d", fd);
			return -1;
		}
		l->ep.family = l->ep.addr.ss_family;
		endpoint_format((struct sockaddr *)&l->ep.addr, l->ep.addrlen,
		    l->bound, sizeof(l->bound));
		strcpy(l->ep.text, l->bound);
		if (s->cfg->token == NULL && !endpoint_is_loopback(&l->ep)) {
			log_msg(PICMD_LOG_ERROR, "protected mode: activated "
			    "socket %s is not a loopback address and [security] "
			    "has no token; set token_file (or token) in "
			    "[security]", l->bound);
			return -1;
		}
		flags = fcntl(fd, F_GETFL);
		if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			log_warn("socket activation: fd %d", fd);
			return -1;
		}
		if (listener_start(s, l, fd) == -1)
			return -1;
	}
	return open_endpoints(s, n, pigpio_endpoints(s), npigpio(s), true);
}

int
listeners_open(struct server *s)
{
	const struct config *cfg = s->cfg;

	if ((s->listeners = calloc((size_t)(cfg->nlisten + npigpio(s)),
	    sizeof(*s->listeners))) == NULL)
		return -1;
	if (open_endpoints(s, 0, cfg->listen, cfg->nlisten, false) == -1)
		return -1;
	return open_endpoints(s, cfg->nlisten, pigpio_endpoints(s), npigpio(s),
	    true);
}

void
listeners_close(struct server *s)
{
	for (int i = 0; i < s->nlisteners; i++) {
		struct listener *l = &s->listeners[i];

		if (l->evl != NULL) {
			evconnlistener_free(l->evl);
			l->evl = NULL;
			/* An activated socket belongs to the manager. */
			if (l->ep.family == AF_UNIX && !l->adopted)
				unlink(((struct sockaddr_un *)&l->ep.addr)->
				    sun_path);
		}
		if (l->backoff != NULL) {
			event_free(l->backoff);
			l->backoff = NULL;
		}
	}
}

void
listeners_free(struct server *s)
{
	listeners_close(s);
	free(s->listeners);
	s->listeners = NULL;
	s->nlisteners = 0;
}
