/*
 * gpio watch / unwatch: edges of an input published as events on
 * gpio.<offset> (docs/GPIO.md, Edges).
 */
#include <ctype.h>
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gpio.h"
#include "sysfs.h"

#define DEBOUNCE_MAX_MS	1000UL

/*
 * Publish one edge of a watched line: "! gpio.17 rising 1 ts=<wall
 * clock> mono=<monotonic> seq=<n>", mono being the kernel's stamp of the
 * edge (or now, for the simulated chip) and ts the wall clock at that
 * moment.  Where the kernel does not debounce, an edge sooner than
 * debounce_ms after the last one published is a bounce, not published.
 */
static void
publish(struct gpio_state *st, unsigned off, int rising, long long mono_ns)
{
	struct gpio_line *ln = &st->lines[off];
	struct timespec mono, wall;
	long long now_ns, wall_ns;
	char topic[32];

	if (!(ln->watch & (rising ? WATCH_RISING : WATCH_FALLING)))
		return;
	if (ln->debounce_ms > 0 && ln->last_edge_ns != 0 &&
	    mono_ns - ln->last_edge_ns < ln->debounce_ms * 1000000LL)
		return;
	ln->last_edge_ns = mono_ns;
	if (st->host == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	now_ns = mono.tv_sec * 1000000000LL + mono.tv_nsec;
	wall_ns = wall.tv_sec * 1000000000LL + wall.tv_nsec - (now_ns - mono_ns);
	snprintf(topic, sizeof(topic), "gpio.%u", off);
	gpio_api->publish(st->host, topic, "%s %d ts=%lld.%09lld "
	    "mono=%lld.%09lld", rising ? "rising" : "falling", rising,
	    wall_ns / 1000000000LL, wall_ns % 1000000000LL,
	    mono_ns / 1000000000LL, mono_ns % 1000000000LL);
}

void
gpio_publish_edge(struct gpio_state *st, unsigned off, int level)
{
	struct gpio_line *ln = &st->lines[off];
	struct timespec now;

	if (ln->watch == WATCH_NONE || level < 0 || level == ln->level)
		return;
	ln->level = level;
	clock_gettime(CLOCK_MONOTONIC, &now);
	publish(st, off, level, now.tv_sec * 1000000000LL + now.tv_nsec);
}

/*
 * The daemon saw the line's descriptor readable (on a worker): publish
 * what the kernel has.  The watch may have ended, or moved to another
 * descriptor, since: checked under the line's mutex.
 */
static void
edges_ready(int fd, void *arg)
{
	struct gpio_line *ln = arg;
	struct gpio_state *st = ln->st;
	struct gpio_edge ev[16];
	int n;

	pthread_mutex_lock(&ln->mu);
	if (ln->watch == WATCH_NONE || ln->w == NULL || ln->wfd != fd) {
		pthread_mutex_unlock(&ln->mu);
		return;
	}
	do {
		n = st->be->ops->read_edges(st->be, ln->off, ev, 16);
		for (int i = 0; i < n; i++) {
			ln->level = ev[i].rising;
			publish(st, ln->off, ev[i].rising, ev[i].mono_ns);
		}
	} while (n == 16);
	if (n < 0)
		gpio_api->log(PICMD_LOG_WARN, "gpio: line %u: reading edges: "
		    "%s", ln->off, strerror(errno));
	pthread_mutex_unlock(&ln->mu);
}

void
gpio_watch_end(struct gpio_state *st, unsigned off)
{
	struct gpio_line *ln = &st->lines[off];

	if (ln->w != NULL) {
		gpio_api->unwatch_fd(ln->w);
		ln->w = NULL;
		ln->wfd = -1;
	}
	ln->watch = WATCH_NONE;
}

long long
gpio_mono_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* Turn edge detection off on a line whose watch ends (with it locked). */
static void
watch_off(struct gpio_state *st, unsigned off)
{
	unsigned none = 0;

	gpio_watch_end(st, off);
	if (st->be->ops->watch != NULL &&
	    st->be->ops->watch(st->be, off, st->lines[off].bias, 0, &none) == -1)
		gpio_api->log(PICMD_LOG_WARN, "gpio: line %u: cannot turn edge "
		    "detection off: %s", off, strerror(errno));
}

/*
 * Once a second (a timerfd the daemon watches, so on a worker): a watch
 * nobody has subscribed to for watch_idle_s ends, so a client that went
 * away does not leave the kernel reporting edges for nobody.
 */
static void
idle_tick(int fd, void *arg)
{
	struct gpio_state *st = arg;
	uint64_t expirations;
	long long now = gpio_mono_ns();
	char topic[32];

	if (read(fd, &expirations, sizeof(expirations)) == -1)
		return;
	for (unsigned i = 0; i < st->nlines; i++) {
		struct gpio_line *ln = &st->lines[i];

		pthread_mutex_lock(&ln->mu);
		if (ln->watch != WATCH_NONE) {
			snprintf(topic, sizeof(topic), "gpio.%u", i);
			if (gpio_api->subscribed(st->host, topic))
				ln->seen_ns = now;
			else if (now - ln->seen_ns >=
			    st->watch_idle_s * 1000000000LL) {
				watch_off(st, i);
				gpio_api->log(PICMD_LOG_INFO, "gpio: line %u: "
				    "nobody subscribed to gpio.%u for %u s; "
				    "watch ended", i, i, st->watch_idle_s);
			}
		}
		pthread_mutex_unlock(&ln->mu);
	}
}

/* The idle timer starts with the first watch (watch_fd needs a running
 * daemon, which init does not have yet). */
static void
idle_timer_start(struct gpio_state *st)
{
	struct itimerspec every = { { 1, 0 }, { 1, 0 } };

	if (st->watch_idle_s == 0 || st->host == NULL)
		return;
	pthread_mutex_lock(&st->idle_mu);
	if (st->idle_tfd == -1) {
		st->idle_tfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_NONBLOCK | TFD_CLOEXEC);
		if (st->idle_tfd == -1 ||
		    timerfd_settime(st->idle_tfd, 0, &every, NULL) == -1 ||
		    (st->idle_w = gpio_api->watch_fd(st->host, st->idle_tfd,
		    idle_tick, st)) == NULL) {
			gpio_api->log(PICMD_LOG_WARN, "gpio: no idle timer for "
			    "watches (%s): they end only with gpio unwatch",
			    strerror(errno));
			if (st->idle_tfd != -1)
				close(st->idle_tfd);
			st->idle_tfd = -2;	/* do not try again */
		}
	}
	pthread_mutex_unlock(&st->idle_mu);
}

void
gpio_watch_fini(struct gpio_state *st)
{
	if (st->idle_tfd >= 0)
		close(st->idle_tfd);
	pthread_mutex_destroy(&st->idle_mu);
}

/*
 * Chip backends: the kernel detects the edges (and debounces where it
 * can); the daemon watches the line's descriptor.  0, or -1 with errno.
 */
static int
chip_watch(struct gpio_state *st, unsigned off, enum gpio_bias bias,
    enum watch_edges edges, unsigned *debounce_ms)
{
	struct gpio_line *ln = &st->lines[off];
	unsigned debounce_us = *debounce_ms * 1000;
	int fd;

	if (st->host == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	if ((fd = st->be->ops->watch(st->be, off, bias, (unsigned)edges,
	    &debounce_us)) == -1)
		return -1;
	/* The kernel debounces: not here as well. */
	if (debounce_us != 0)
		*debounce_ms = 0;
	if (ln->w != NULL && ln->wfd == fd)
		return 0;
	if (ln->w != NULL)
		gpio_api->unwatch_fd(ln->w);
	ln->wfd = fd;
	if ((ln->w = gpio_api->watch_fd(st->host, fd, edges_ready, ln)) ==
	    NULL) {
		int err = errno;
		unsigned none = 0;

		st->be->ops->watch(st->be, off, bias, 0, &none);
		ln->wfd = -1;
		errno = err;
		return -1;
	}
	return 0;
}

static int
parse_edges(picmd_ctx *ctx, const char *arg, enum watch_edges *edges)
{
	if (strcasecmp(arg, "rising") == 0)
		*edges = WATCH_RISING;
	else if (strcasecmp(arg, "falling") == 0)
		*edges = WATCH_FALLING;
	else if (strcasecmp(arg, "both") == 0)
		*edges = WATCH_BOTH;
	else {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "edges must be rising, "
		    "falling or both, not '%s'", arg);
		return -1;
	}
	return 0;
}

/*
 * gpio watch <line> rising|falling|both [debounce_ms] [pull]: the line
 * becomes an input of ours whose edges are published on gpio.<offset>
 * (SUBSCRIBE gpio.17).  Watching again changes the edges, debounce or
 * pull in place.  An output is refused: it would stop driving its load.
 */
void
gpio_watch(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_backend *be = st->be;
	struct gpio_line *ln;
	enum watch_edges edges;
	enum gpio_bias bias;
	unsigned long long debounce = 0;
	unsigned debounce_ms;
	bool have_pull = false;
	unsigned off;
	int v;

	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    parse_edges(ctx, argv[1], &edges) == -1)
		return;
	for (int i = 2; i < argc; i++) {
		if (isdigit((unsigned char)argv[i][0]) && i == 2) {
			if (!sysfs_parse_ull(argv[i], DEBOUNCE_MAX_MS,
			    &debounce)) {
				gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "debounce "
				    "must be 0 to %lu ms, not '%s'",
				    DEBOUNCE_MAX_MS, argv[i]);
				return;
			}
		} else if (!have_pull) {
			if (gpio_parse_pull(ctx, argv[i], &bias) == -1)
				return;
			have_pull = true;
		} else {
			gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "usage: gpio "
			    "watch <line> rising|falling|both [debounce_ms] "
			    "[pull-up|pull-down|no-pull]");
			return;
		}
	}
	if (gpio_line_lock(ctx, st, off) == -1)
		return;
	ln = &st->lines[off];
	if (ln->held == HOLD_OUT) {
		gpio_api->reply_error(ctx, PICMD_ERR_BUSY, "line %u is an output of "
		    "picmd: gpio release %u first (a watch makes it an input)",
		    off, off);
		goto out;
	}
	if (!have_pull)
		bias = ln->bias;
	debounce_ms = (unsigned)debounce;
	if (be->ops->watch != NULL) {
		if (chip_watch(st, off, bias, edges, &debounce_ms) == -1) {
			gpio_device_error(ctx, st, off, errno);
			goto out;
		}
	} else if (be->ops->request_input(be, off, bias) == -1) {
		gpio_device_error(ctx, st, off, errno);
		goto out;
	}
	if ((v = be->ops->get(be, off)) < 0) {
		gpio_device_error(ctx, st, off, errno);
		goto out;
	}
	ln->held = HOLD_IN;
	ln->bias = bias;
	ln->watch = edges;
	ln->debounce_ms = debounce_ms;
	ln->debounce_asked = (unsigned)debounce;
	ln->level = v;
	ln->last_edge_ns = 0;
	/* A new watch gets watch_idle_s for its first subscriber. */
	ln->seen_ns = gpio_mono_ns();
	idle_timer_start(st);
	gpio_api->reply_ok(ctx, "%d", v);
out:
	gpio_line_unlock(st, off);
}

/* The line stays an input of ours, as after gpio mode in. */
void
gpio_unwatch(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	unsigned off;

	(void)argc;
	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    gpio_line_lock(ctx, st, off) == -1)
		return;
	/* Back to a plain input of ours: no more edges queued. */
	if (st->lines[off].watch != WATCH_NONE)
		watch_off(st, off);
	gpio_line_unlock(st, off);
}

/*
 * gpio pull on a watched input: the chip backends watch again with the
 * new bias (and the debounce asked for, which the kernel may be doing);
 * the simulated chip has no kernel to notice that the pull moved an
 * unconnected input, so the edge is published here.
 */
int
gpio_watch_rebias(struct gpio_state *st, unsigned off, enum gpio_bias bias)
{
	struct gpio_line *ln = &st->lines[off];
	unsigned debounce_ms = ln->debounce_asked;

	if (st->be->ops->watch == NULL) {
		if (st->be->ops->request_input(st->be, off, bias) == -1)
			return -1;
		gpio_publish_edge(st, off, st->be->ops->get(st->be, off));
		return 0;
	}
	if (chip_watch(st, off, bias, ln->watch, &debounce_ms) == -1)
		return -1;
	ln->debounce_ms = debounce_ms;
	return 0;
}

/* SUBSCRIBE gpio.GPIO17 and gpio.BCM17 mean gpio.17, as the commands do. */
int
gpio_normalise_topic(void *state, const char *word, char *out, size_t size)
{
	struct gpio_state *st = state;
	unsigned long long n;
	const char *digits = NULL;

	if (st == NULL)
		return -1;
	if (isdigit((unsigned char)word[0]))
		digits = word;
	else {
		/* Names are fixed after init: no lock needed to read them. */
		for (unsigned i = 0; i < st->nlines; i++)
			if (st->lines[i].name[0] != '\0' &&
			    strcasecmp(st->lines[i].name, word) == 0)
				return snprintf(out, size, "%u", i) < (int)size ?
				    0 : -1;
		if (strncasecmp(word, "GPIO", 4) == 0)
			digits = word + 4;
		else if (strncasecmp(word, "BCM", 3) == 0)
			digits = word + 3;
	}
	if (digits == NULL || !sysfs_parse_ull(digits, 1000000, &n) ||
	    n >= st->nlines)
		return -1;
	return snprintf(out, size, "%llu", n) < (int)size ? 0 : -1;
}

