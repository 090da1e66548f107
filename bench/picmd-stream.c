/*
 * picmd-stream: an open-loop event stream through picmd, for scenario (g)
 * of "make bench".
 *
 * -c subscriber connections each send "SUBSCRIBE <-s pattern>"; one driver
 * connection sends "diag publish <-t topic> <-b batch>" every batch / rate
 * seconds for -d seconds, so the daemon publishes -r events a second, and
 * each subscriber must receive every one of them as a "!" line.  The pace
 * is kept by a timerfd: a batch that falls due while the previous request
 * is still unanswered is sent as soon as its reply arrives (the lag is
 * reported), never skipped, and nothing is sent after the -d seconds, so a
 * daemon (or a machine) that cannot keep up shows as a rate below -r.
 *
 * After the last reply it reads until every subscriber has every event,
 * or none has received anything for -q seconds.  One thread, one epoll
 * set: what it costs the machine is small beside the daemon's work, unlike
 * a generator in an interpreter, which fell behind the pace while another
 * load ran on the same CPUs.
 *
 * It prints one line of key=value pairs: sent, seconds, rate, min_got,
 * max_got, late (batches sent after their time), max_lag_us.  It fails
 * (a message on stderr, exit 1) when a connection is closed, when a
 * subscriber receives a line that is not an event, or when the driver's
 * reply is not "OK published <batch>".
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE	(1 << 16)
#define REPLY_KEEP	128

struct sub {
	int		 fd;
	uint64_t	 lines;		/* events received */
	bool		 at_line_start;
};

static struct {
	const char	*host, *port, *pattern, *topic;
	unsigned	 subs, batch;
	double		 rate, duration, quiet;
} opt = {
	.host = "127.0.0.1", .port = "15769", .pattern = "bench.*",
	.topic = "bench.tick", .subs = 10, .batch = 500, .rate = 20000,
	.duration = 10, .quiet = 2,
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("picmd-stream: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
parse_num(const char *s, int flag, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "picmd-stream: -%c: a number from %g to %g\n",
		    flag, lo, hi);
		exit(2);
	}
	return v;
}

static int
open_conn(const struct addrinfo *ai)
{
	int fd, one = 1;

	for (; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			return fd;
		}
		close(fd);
	}
	die("%s:%s: cannot connect: %s", opt.host, opt.port, strerror(errno));
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			die("write: %s", strerror(errno));
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* One reply line, read blocking (only before the stream starts). */
static void
expect_line(int fd, const char *want, const char *what)
{
	char line[REPLY_KEEP];
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		if ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: connection closed", what);
		if (c == '\n')
			break;
		if (len < sizeof(line) - 1)
			line[len++] = c;
	}
	line[len] = '\0';
	if (strcmp(line, want) != 0)
		die("%s: \"%s\", expected \"%s\"", what, line, want);
}

/* Counts the events in what a subscriber read; anything else fails. */
static void
sub_take(struct sub *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s->at_line_start && buf[i] != '!')
			die("a subscriber received a line that is not an event");
		s->at_line_start = buf[i] == '\n';
		s->lines += s->at_line_start;
	}
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: picmd-stream [-H host] [-p port] [-c subscribers] [-s pattern]\n"
"                    [-t topic] [-r events/s] [-b batch] [-d seconds]\n"
"                    [-q seconds]\n"
"  -c  subscriber connections (10)      -s  what they subscribe to (bench.*)\n"
"  -t  topic published (bench.tick)     -r  events a second (20000)\n"
"  -b  events a request (500)           -d  seconds of publishing (10)\n"
"  -q  seconds of silence that end the final read (2)\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct epoll_event ev, evs[64];
	struct itimerspec its = { 0 };
	struct sub *subs;
	char *buf, request[256], want[64], reply[REPLY_KEEP];
	size_t reqlen, replylen = 0;
	uint64_t due = 0, sent = 0, late = 0, expirations, batches;
	int64_t t0, t_end, t_stop = 0, last_data, period_ns, lag, max_lag = 0;
	bool waiting = false, publishing = true;
	int ep, tfd, drv, ch, err, n;

	while ((ch = getopt(argc, argv, "H:p:c:s:t:r:b:d:q:h")) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = optarg; break;
		case 'c': opt.subs = (unsigned)parse_num(optarg, 'c', 1, 10000);
			break;
		case 's': opt.pattern = optarg; break;
		case 't': opt.topic = optarg; break;
		case 'r': opt.rate = parse_num(optarg, 'r', 1, 1e8); break;
		case 'b': opt.batch = (unsigned)parse_num(optarg, 'b', 1, 1e6);
			break;
		case 'd': opt.duration = parse_num(optarg, 'd', 0.01, 86400);
			break;
		case 'q': opt.quiet = parse_num(optarg, 'q', 0.01, 3600); break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	signal(SIGPIPE, SIG_IGN);
	reqlen = (size_t)snprintf(request, sizeof(request),
	    "diag publish %s %u\n", opt.topic, opt.batch);
	if (reqlen >= sizeof(request))
		die("-t: topic too long");
	snprintf(want, sizeof(want), "OK published %u", opt.batch);
	batches = (uint64_t)(opt.duration * opt.rate / opt.batch + 0.5);
	if (batches == 0)
		batches = 1;
	period_ns = (int64_t)(1e9 * opt.batch / opt.rate);

	if ((err = getaddrinfo(opt.host, opt.port, &hints, &ai)) != 0)
		die("%s:%s: %s", opt.host, opt.port, gai_strerror(err));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((subs = calloc(opt.subs, sizeof(*subs))) == NULL ||
	    (buf = malloc(READ_SIZE)) == NULL)
		die("out of memory");
	for (unsigned i = 0; i < opt.subs; i++) {
		char line[256];
		int len;

		subs[i].fd = open_conn(ai);
		subs[i].at_line_start = true;
		len = snprintf(line, sizeof(line), "SUBSCRIBE %s\n",
		    opt.pattern);
		if (len < 0 || (size_t)len >= sizeof(line))
			die("-s: pattern too long");
		write_all(subs[i].fd, line, (size_t)len);
		expect_line(subs[i].fd, "OK", "SUBSCRIBE");
		ev = (struct epoll_event){ .events = EPOLLIN,
		    .data.ptr = &subs[i] };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	drv = open_conn(ai);
	freeaddrinfo(ai);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &drv };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, drv, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));

	/* The first batch goes at once, then one every period. */
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) == -1)
		die("timerfd_create: %s", strerror(errno));
	its.it_value.tv_nsec = 1;
	its.it_interval.tv_sec = period_ns / 1000000000;
	its.it_interval.tv_nsec = period_ns % 1000000000;
	if (timerfd_settime(tfd, 0, &its, NULL) == -1)
		die("timerfd_settime: %s", strerror(errno));
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &tfd };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));

	t0 = last_data = now_ns();
	t_end = t0 + (int64_t)(opt.duration * 1e9);
	for (;;) {
		int64_t now = now_ns();
		uint64_t min_got = UINT64_MAX;

		for (unsigned i = 0; i < opt.subs; i++)
			if (subs[i].lines < min_got)
				min_got = subs[i].lines;
		if (!publishing && !waiting &&
		    (min_got >= sent || now - last_data > opt.quiet * 1e9))
			break;
		if ((n = epoll_wait(ep, evs, 64, 100)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			ssize_t got;

			if (p == &tfd) {
				if (read(tfd, &expirations,
				    sizeof(expirations)) == sizeof(expirations))
					due += expirations;
				continue;
			}
			if (p == &drv) {
				if ((got = read(drv, buf, READ_SIZE)) <= 0)
					die("the driver's connection closed");
				for (ssize_t j = 0; j < got; j++) {
					if (buf[j] != '\n') {
						if (replylen < sizeof(reply) - 1)
							reply[replylen++] = buf[j];
						continue;
					}
					reply[replylen] = '\0';
					if (strcmp(reply, want) != 0)
						die("diag publish: \"%s\"", reply);
					replylen = 0;
					waiting = false;
				}
				continue;
			}
			struct sub *s = p;
			if ((got = read(s->fd, buf, READ_SIZE)) <= 0)
				die("a subscriber's connection closed");
			sub_take(s, buf, (size_t)got);
			last_data = now;
		}
		/* A batch's time is t0 + k * period for the k-th batch. */
		if (publishing && !waiting && due > 0) {
			if (now >= t_end || sent / opt.batch >= batches) {
				publishing = false;
				t_stop = now;
				continue;
			}
			lag = now - (t0 + (int64_t)(sent / opt.batch) *
			    period_ns);
			if (lag > period_ns) {
				late++;
				if (lag > max_lag)
					max_lag = lag;
			}
			write_all(drv, request, reqlen);
			waiting = true;
			due--;
			sent += opt.batch;
		} else if (publishing && now >= t_end && !waiting) {
			publishing = false;
			t_stop = now;
		}
	}

	{
		uint64_t min_got = UINT64_MAX, max_got = 0;
		double secs = (double)(t_stop - t0) / 1e9;

		for (unsigned i = 0; i < opt.subs; i++) {
			if (subs[i].lines < min_got)
				min_got = subs[i].lines;
			if (subs[i].lines > max_got)
				max_got = subs[i].lines;
			close(subs[i].fd);
		}
		printf("sent=%" PRIu64 " seconds=%.3f rate=%.1f min_got=%"
		    PRIu64 " max_got=%" PRIu64 " late=%" PRIu64
		    " max_lag_us=%" PRId64 "\n", sent, secs, sent / secs,
		    min_got, max_got, late, max_lag / 1000);
	}
	close(drv);
	close(tfd);
	close(ep);
	free(subs);
	free(buf);
	return 0;
}
