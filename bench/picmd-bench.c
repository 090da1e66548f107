/*
 * picmd-bench: a closed-loop load generator for newline-framed protocols
 * (picmd, Redis inline commands, the memcached text protocol).
 *
 * Every connection keeps -P requests in flight: it sends -P copies of the
 * request line, and for each reply line (counted by its newline) it sends
 * one more, until the time is up.  Then it stops sending and waits for
 * every reply still owed (the drain), so the number of replies must equal
 * the number of requests.  One thread, one epoll set, level-triggered.
 *
 * Latency is the time from queueing a request to reading the newline of
 * its reply, recorded in a log-linear histogram (HdrHistogram's layout:
 * exact below 256 us, then 128 sub-buckets per power of two, so a
 * percentile is at most 0.8% above the true value; like HdrHistogram we
 * report the highest value of the bucket).  Only replies read during the
 * measured window count, after -w seconds of warm-up.
 *
 * It fails loudly (a message on stderr, exit 1) when a connection is
 * closed or reset, when a connection with requests outstanding gets no
 * reply for -s seconds (a stall), when a reply arrives that nobody asked
 * for, when a reply starts with the -e prefix, or when the counts of
 * requests and replies differ at the end.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SUB_BITS	8
#define SUB_COUNT	(1u << SUB_BITS)		/* exact below this */
#define HALF_COUNT	(SUB_COUNT / 2)
#define MAX_SHIFT	40				/* up to ~2^48 us */
#define NBUCKETS	(SUB_COUNT + MAX_SHIFT * HALF_COUNT)
#define LINE_KEEP	128	/* bytes of a reply kept for -e and messages */
#define READ_SIZE	65536

struct conn {
	int		 fd;
	unsigned	 idx;
	uint64_t	 sent;		/* requests queued (written or not) */
	uint64_t	 received;	/* reply lines read */
	uint64_t	*ts;		/* send times of the outstanding, a ring */
	unsigned	 head;		/* oldest outstanding in ts */
	size_t		 wpend;		/* bytes queued but not yet written */
	size_t		 woff;		/* offset of the next byte in the line */
	bool		 want_out;	/* EPOLLOUT armed */
	int64_t		 last_progress;	/* last reply, or the first send */
	size_t		 linelen;	/* bytes of the current reply so far */
	char		 line[LINE_KEEP];
};

static struct {
	const char	*host, *port, *unix_path, *request, *err_prefix;
	unsigned	 conns, depth;
	double		 duration, warmup, stall;
	uint64_t	 limit;		/* -n: total requests, 0 = by time */
	bool		 json;
} opt = {
	.host = "127.0.0.1", .port = "15769", .request = "PING",
	.conns = 50, .depth = 1, .duration = 5, .warmup = 1, .stall = 5,
};

static char	*pattern;	/* the request line, depth + 1 times */
static size_t	 reqlen, errlen;
static uint64_t	 hist[NBUCKETS];
static uint64_t	 hist_n, hist_max, hist_min = UINT64_MAX;
static double	 hist_sum;
static uint64_t	 total_sent, total_received, window_replies;
static bool	 measuring, sending = true;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("picmd-bench: FAIL: ", stderr);
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

static unsigned
bucket_of(uint64_t v)
{
	int msb, shift;

	if (v < SUB_COUNT)
		return (unsigned)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - (SUB_BITS - 1);
	if (shift > MAX_SHIFT)
		return NBUCKETS - 1;
	return SUB_COUNT + (unsigned)(shift - 1) * HALF_COUNT +
	    (unsigned)((v >> shift) - HALF_COUNT);
}

/* The highest value that falls into bucket i. */
static uint64_t
bucket_high(unsigned i)
{
	unsigned j, shift, sub;

	if (i < SUB_COUNT)
		return i;
	j = i - SUB_COUNT;
	shift = j / HALF_COUNT + 1;
	sub = j % HALF_COUNT + HALF_COUNT;
	return ((uint64_t)(sub + 1) << shift) - 1;
}

static void
hist_add(uint64_t us)
{
	hist[bucket_of(us)]++;
	hist_n++;
	hist_sum += (double)us;
	if (us > hist_max)
		hist_max = us;
	if (us < hist_min)
		hist_min = us;
}

static uint64_t
hist_percentile(double q)
{
	uint64_t want, seen = 0;

	if (hist_n == 0)
		return 0;
	want = (uint64_t)(q / 100.0 * (double)hist_n + 0.999999);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen >= want) {
			uint64_t v = bucket_high(i);
			return v < hist_max ? v : hist_max;
		}
	}
	return hist_max;
}

static const char *
conn_name(const struct conn *c)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "connection %u", c->idx);
	return buf;
}

static void
conn_arm(int ep, struct conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
	    .data.ptr = c };

	if (c->want_out == out)
		return;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->want_out = out;
}

static void
conn_flush(int ep, struct conn *c)
{
	while (c->wpend > 0) {
		ssize_t n = write(c->fd, pattern + c->woff, c->wpend);

		if (n > 0) {
			c->wpend -= (size_t)n;
			c->woff = (c->woff + (size_t)n) % reqlen;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm(ep, c, true);
			return;
		}
		die("%s: write: %s (after %" PRIu64 " replies)", conn_name(c),
		    n == 0 ? "wrote nothing" : strerror(errno), c->received);
	}
	conn_arm(ep, c, false);
}

/* Queue up to k more requests on c, within the -n budget. */
static void
conn_send(int ep, struct conn *c, uint64_t k, int64_t now)
{
	if (!sending)
		return;
	if (opt.limit > 0 && k > opt.limit - total_sent)
		k = opt.limit - total_sent;
	if (k == 0)
		return;
	if (c->sent == c->received)
		c->last_progress = now;
	for (uint64_t i = 0; i < k; i++)
		c->ts[(c->head + (c->sent - c->received) + i) % opt.depth] =
		    (uint64_t)now;
	c->sent += k;
	total_sent += k;
	c->wpend += k * reqlen;
	if (opt.limit > 0 && total_sent == opt.limit)
		sending = false;
	conn_flush(ep, c);
}

static void
conn_reply(struct conn *c, int64_t now)
{
	uint64_t sent_at;

	if (c->received == c->sent)
		die("%s: a reply nobody asked for (%" PRIu64 " requests, this "
		    "is reply %" PRIu64 "): '%.*s'", conn_name(c), c->sent,
		    c->received + 1, (int)c->linelen, c->line);
	sent_at = c->ts[c->head];
	c->head = (c->head + 1) % opt.depth;
	c->received++;
	total_received++;
	c->last_progress = now;
	if (errlen > 0 && c->linelen >= errlen &&
	    memcmp(c->line, opt.err_prefix, errlen) == 0)
		die("%s: error reply: '%.*s'", conn_name(c),
		    (int)(c->linelen > 0 && c->line[c->linelen - 1] == '\r' ?
		    c->linelen - 1 : c->linelen), c->line);
	if (measuring) {
		hist_add((uint64_t)(now - (int64_t)sent_at) / 1000);
		window_replies++;
	}
	c->linelen = 0;
}

static void
keep_line(struct conn *c, const char *p, size_t n)
{
	size_t room = LINE_KEEP - c->linelen;

	if (n > room)
		n = room;
	memcpy(c->line + c->linelen, p, n);
	c->linelen += n;
}

static void
conn_read(int ep, struct conn *c, int64_t now)
{
	static char buf[READ_SIZE];
	ssize_t n;
	uint64_t before = c->received;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			const char *p = buf, *end = buf + n, *nl;

			while ((nl = memchr(p, '\n', (size_t)(end - p))) !=
			    NULL) {
				keep_line(c, p, (size_t)(nl - p));
				conn_reply(c, now);
				p = nl + 1;
			}
			keep_line(c, p, (size_t)(end - p));
			if (n < (ssize_t)sizeof(buf))
				break;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == 0)
			die("%s closed by the server after %" PRIu64 " replies, "
			    "with %" PRIu64 " requests outstanding%s%.*s",
			    conn_name(c), c->received, c->sent - c->received,
			    c->linelen > 0 ? "; partial reply: " : "",
			    (int)c->linelen, c->line);
		die("%s: read: %s (after %" PRIu64 " replies)", conn_name(c),
		    strerror(errno), c->received);
	}
	conn_send(ep, c, c->received - before, now);
}

static int
open_conn(const struct addrinfo *ai)
{
	int fd, one = 1;

	if (opt.unix_path != NULL) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(opt.unix_path) >= sizeof(sun.sun_path))
			die("%s: path too long", opt.unix_path);
		strcpy(sun.sun_path, opt.unix_path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			die("connect %s: %s", opt.unix_path, strerror(errno));
	} else {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			die("socket: %s", strerror(errno));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
			die("connect %s:%s: %s", opt.host, opt.port,
			    strerror(errno));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
	return fd;
}

static double
parse_num(const char *s, char flag, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "picmd-bench: -%c: '%s' is not a number from %g "
		    "to %g\n", flag, s, min, max);
		exit(2);
	}
	return v;
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: picmd-bench [-H host] [-p port | -u path] [-c conns] [-P depth]\n"
"                   [-d seconds] [-w seconds] [-n requests] [-r line]\n"
"                   [-e prefix] [-s seconds] [-j]\n"
"  -H host     server address (127.0.0.1)         -p port   TCP port (15769)\n"
"  -u path     Unix socket instead of TCP\n"
"  -c conns    connections (50)                   -P depth  requests in flight\n"
"                                                           per connection (1)\n"
"  -d seconds  measured time (5)                  -w seconds  warm-up (1)\n"
"  -n count    send exactly count requests, then drain (no warm-up; -d unused)\n"
"  -r line     the request, one line; a LF is appended (PING)\n"
"  -e prefix   fail on a reply starting with prefix (e.g. ERR, -ERR, ERROR)\n"
"  -s seconds  fail when a connection waits this long for a reply (5)\n"
"  -j          print one line of key=value pairs instead of the report\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct epoll_event evs[256];
	struct conn *conns;
	struct rlimit rl;
	int64_t t0, t_measure, t_end, t_win0 = 0, t_win1 = 0, last_check;
	int ep, ch, err;

	while ((ch = getopt(argc, argv, "H:p:u:c:P:d:w:n:r:e:s:jh")) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'p': opt.port = optarg; break;
		case 'u': opt.unix_path = optarg; break;
		case 'c': opt.conns = (unsigned)parse_num(optarg, 'c', 1, 1000000);
			break;
		case 'P': opt.depth = (unsigned)parse_num(optarg, 'P', 1, 65536);
			break;
		case 'd': opt.duration = parse_num(optarg, 'd', 0.01, 86400);
			break;
		case 'w': opt.warmup = parse_num(optarg, 'w', 0, 86400); break;
		case 'n': opt.limit = (uint64_t)parse_num(optarg, 'n', 1, 1e15);
			break;
		case 'r': opt.request = optarg; break;
		case 'e': opt.err_prefix = optarg; break;
		case 's': opt.stall = parse_num(optarg, 's', 0.01, 86400); break;
		case 'j': opt.json = true; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (strchr(opt.request, '\n') != NULL) {
		fprintf(stderr, "picmd-bench: -r: one line, without a newline\n");
		return 2;
	}
	if (opt.limit > 0)
		opt.warmup = 0;
	errlen = opt.err_prefix != NULL ? strlen(opt.err_prefix) : 0;
	signal(SIGPIPE, SIG_IGN);

	/* The request repeated depth + 1 times: any run of queued requests,
	 * starting anywhere in the first copy, is one contiguous write. */
	reqlen = strlen(opt.request) + 1;
	if ((pattern = malloc(reqlen * (opt.depth + 1))) == NULL)
		die("out of memory");
	for (unsigned i = 0; i <= opt.depth; i++) {
		memcpy(pattern + i * reqlen, opt.request, reqlen - 1);
		pattern[i * reqlen + reqlen - 1] = '\n';
	}

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)opt.conns + 16) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (opt.unix_path == NULL &&
	    (err = getaddrinfo(opt.host, opt.port, &hints, &ai)) != 0)
		die("%s:%s: %s", opt.host, opt.port, gai_strerror(err));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((conns = calloc(opt.conns, sizeof(*conns))) == NULL)
		die("out of memory");
	for (unsigned i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		c->idx = i;
		c->fd = open_conn(ai);
		if ((c->ts = calloc(opt.depth, sizeof(*c->ts))) == NULL)
			die("out of memory");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	if (ai != NULL)
		freeaddrinfo(ai);

	t0 = last_check = now_ns();
	t_measure = t0 + (int64_t)(opt.warmup * 1e9);
	t_end = t_measure + (int64_t)(opt.duration * 1e9);
	if (opt.limit > 0 || t_measure == t0) {
		measuring = true;
		t_win0 = t0;
	}
	for (unsigned i = 0; i < opt.conns; i++)
		conn_send(ep, &conns[i], opt.depth, t0);

	for (;;) {
		int64_t now = now_ns(), wait_ns = 100000000;
		int n, timeout;

		if (opt.limit == 0 && sending) {
			int64_t next = measuring ? t_end : t_measure;

			if (next - now < wait_ns)
				wait_ns = next - now;
		}
		timeout = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
		if ((n = epoll_wait(ep, evs, 256, timeout)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		now = now_ns();
		/* Phases: warm-up, measured window, drain. */
		if (opt.limit == 0 && !measuring && sending && now >= t_measure) {
			measuring = true;
			t_win0 = now;
		}
		if (opt.limit == 0 && measuring && sending && now >= t_end) {
			measuring = false;
			sending = false;
			t_win1 = now;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(ep, c, now);
			if (evs[i].events & EPOLLOUT)
				conn_flush(ep, c);
		}
		if (!sending && total_received == total_sent)
			break;
		if (now - last_check >= 100000000) {
			last_check = now;
			for (unsigned i = 0; i < opt.conns; i++) {
				struct conn *c = &conns[i];

				if (c->sent > c->received && now -
				    c->last_progress > (int64_t)(opt.stall * 1e9))
					die("%s: stall: no reply for %.1f s with "
					    "%" PRIu64 " requests outstanding "
					    "(%" PRIu64 " replies so far)",
					    conn_name(c), opt.stall,
					    c->sent - c->received, c->received);
			}
		}
	}
	if (opt.limit > 0) {
		measuring = false;
		t_win1 = now_ns();
	}

	/* Every request answered, and nothing more. */
	for (unsigned i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];

		if (c->sent != c->received)
			die("%s: %" PRIu64 " requests but %" PRIu64 " replies",
			    conn_name(c), c->sent, c->received);
		if (c->linelen > 0)
			die("%s: bytes after the last reply: '%.*s'",
			    conn_name(c), (int)c->linelen, c->line);
		close(c->fd);
	}
	if (opt.limit > 0 && total_sent != opt.limit)
		die("sent %" PRIu64 " requests, not %" PRIu64, total_sent,
		    opt.limit);
	if (window_replies == 0)
		die("no reply in the measured window");

	double secs = (double)(t_win1 - t_win0) / 1e9;
	double rps = (double)window_replies / secs;
	double mean = hist_sum / (double)hist_n;

	if (opt.json)
		printf("rps=%.1f p50_us=%" PRIu64 " p99_us=%" PRIu64 " "
		    "p999_us=%" PRIu64 " max_us=%" PRIu64 " min_us=%" PRIu64 " "
		    "mean_us=%.1f replies=%" PRIu64 " total=%" PRIu64 " "
		    "seconds=%.3f conns=%u depth=%u\n", rps,
		    hist_percentile(50), hist_percentile(99),
		    hist_percentile(99.9), hist_max, hist_min, mean,
		    window_replies, total_received, secs, opt.conns, opt.depth);
	else {
		printf("picmd-bench: %s%s%s '%s', %u connections x %u in flight\n",
		    opt.unix_path ? opt.unix_path : opt.host,
		    opt.unix_path ? "" : ":", opt.unix_path ? "" : opt.port,
		    opt.request, opt.conns, opt.depth);
		printf("  measured   %.3f s after %.3f s warm-up; %" PRIu64
		    " replies (%" PRIu64 " in all, every one accounted for)\n",
		    secs, opt.warmup, window_replies, total_received);
		printf("  requests/s %.0f\n", rps);
		printf("  latency us p50 %" PRIu64 "  p99 %" PRIu64 "  p99.9 %"
		    PRIu64 "  max %" PRIu64 "  min %" PRIu64 "  mean %.1f\n",
		    hist_percentile(50), hist_percentile(99),
		    hist_percentile(99.9), hist_max, hist_min, mean);
	}
	return 0;
}
