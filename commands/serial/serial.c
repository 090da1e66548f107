/*
 * serial: write to and read from serial ports through termios (the Pi's
 * UART, USB adapters, Arduinos), by the names the configuration gives
 * them, never by device paths from clients:
 *
 *   [serial]
 *   gps = /dev/serial0 9600 8N1
 *   arduino = /dev/ttyACM0 115200 8N1 rtscts
 *
 * The device is behind backend.h (termios, or a simulated loopback);
 * port.c opens ports and deals with hang-ups, watch.c publishes received
 * lines as events; this file parses arguments and the configuration and
 * holds the commands.  docs/DEVICES.md (Serial) is the user's view.
 *
 * Locking: one mutex per port, held by a command for as long as it works
 * on the port (a readline for up to its timeout), so the commands on one
 * port run one after another and never split each other's lines, and
 * commands on different ports run in parallel.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <picmd/plugin.h>

#include "backend.h"
#include "serial.h"
#include "sysfs.h"

const struct picmd_api *serial_api;

/* ---- arguments ---- */

/* An optional number argument in [min, max]; 0, or -1 after replying. */
static int
parse_number(picmd_ctx *ctx, const char *arg, const char *what, long min,
    long max, long *out)
{
	unsigned long long v;

	if (!sysfs_parse_ull(arg, (unsigned long long)max, &v) ||
	    (long)v < min) {
		serial_api->reply_error(ctx, PICMD_ERR_ARGS, "%s must be a whole "
		    "number from %ld to %ld, not '%s'", what, min, max, arg);
		return -1;
	}
	*out = (long)v;
	return 0;
}

/* Watched ports give their lines to the watch: reading them too would
 * take lines away from the subscribers, so it is refused. */
static int
refuse_if_watched(picmd_ctx *ctx, struct serial_port *p)
{
	if (!p->watched)
		return 0;
	serial_api->reply_error(ctx, PICMD_ERR_BUSY, "port %s is watched (its "
	    "lines go to serial.%s): serial unwatch %s first", p->name,
	    p->name, p->name);
	return -1;
}

/* A read failed: a hang-up (the port is closed), or another error. */
static void
reply_read_error(picmd_ctx *ctx, struct serial_port *p, int err)
{
	char buf[128];

	if (serial_errno_gone(err)) {
		serial_hangup(p);
		serial_reply_gone(ctx, p);
		return;
	}
	serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: read %s: %s",
	    p->name, p->set.device, strerror_r(err, buf, sizeof(buf)));
}

/* Reply n bytes of the buffer, escaped, and drop them from it. */
static void
reply_bytes(picmd_ctx *ctx, struct serial_port *p, size_t start, size_t n,
    bool more, size_t used)
{
	char *text = malloc(4 * n + 3);

	if (text == NULL) {
		serial_api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return;
	}
	serial_escape(p->buf + start, n, text);
	/* "\+": a piece of a longer line, whose rest comes next. */
	serial_api->reply_ok(ctx, "%s%s", text, more ? "\\+" : "");
	free(text);
	memmove(p->buf, p->buf + used, p->len - used);
	p->len -= used;
}

/* ---- handlers ---- */

/*
 * The bytes serial write sends, malloc'd, their count in *n; NULL after
 * replying.  argv[0] is the port.
 */
static unsigned char *
write_bytes(picmd_ctx *ctx, int argc, const char *const *argv, size_t *n)
{
	unsigned char *bytes;
	const char **words;
	size_t total = 0;
	char why[160];

	for (int i = 1; i < argc; i++)
		total += strlen(argv[i]) + 1;
	if ((bytes = malloc(total + 1)) == NULL ||
	    (words = malloc((size_t)argc * sizeof(*words))) == NULL) {
		free(bytes);
		serial_api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	*n = 0;
	if (strncasecmp(argv[1], "hex:", 4) == 0) {
		words[0] = argv[1] + 4;
		for (int i = 2; i < argc; i++)
			words[i - 1] = argv[i];
		if (serial_parse_hex(words, argc - 1, bytes, total, n, why,
		    sizeof(why)) == -1) {
			serial_api->reply_error(ctx, PICMD_ERR_ARGS, "%s", why);
			goto fail;
		}
	} else {
		for (int i = 1; i < argc; i++) {
			size_t len = strlen(argv[i]);

			if (i > 1)
				bytes[(*n)++] = ' ';
			memcpy(bytes + *n, argv[i], len);
			*n += len;
		}
		if (*n == 0) {
			serial_api->reply_error(ctx, PICMD_ERR_ARGS, "nothing to "
			    "write: give text or hex:<bytes>");
			goto fail;
		}
	}
	free(words);
	return bytes;
fail:
	free(words);
	free(bytes);
	return NULL;
}

/*
 * serial write <port> <text ...>: the words joined by single spaces, as
 * ECHO joins them (quote a word to keep several blanks, \n or \t in it);
 * or serial write <port> hex:<bytes ...>.  No line end is added.  OK
 * <count> once the kernel has taken every byte.
 */
static void
serial_write(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_backend *be = st->be;
	struct serial_port *p;
	unsigned char *bytes;
	size_t n, off = 0;
	char buf[128];
	long end;

	if ((p = serial_find(ctx, st, argv[0])) == NULL ||
	    (bytes = write_bytes(ctx, argc, argv, &n)) == NULL)
		return;
	if (serial_lock(ctx, p) == -1) {
		free(bytes);
		return;
	}
	if (serial_ensure_open(ctx, p) == -1)
		goto out;
	end = serial_now_ms() + serial_budget(ctx, SERIAL_TIMEOUT_MAX);
	while (off < n) {
		ssize_t w = be->ops->write(be, p->idx, bytes + off, n - off);
		long left;

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (serial_errno_gone(errno)) {
				serial_hangup(p);
				serial_reply_gone(ctx, p);
			} else
				serial_api->reply_error(ctx, PICMD_ERR_DEVICE,
				    "port %s: write %s: %s", p->name,
				    p->set.device,
				    strerror_r(errno, buf, sizeof(buf)));
			goto out;
		}
		/* The output is full: wait for room, up to the deadline. */
		if ((left = end - serial_now_ms()) <= 0 ||
		    serial_poll(p->link.wfd, POLLOUT, left) == 0) {
			serial_api->reply_error(ctx, PICMD_ERR_TIMEOUT, "port %s: "
			    "%zu of %zu bytes written before the deadline: the "
			    "device takes no more (flow control?)", p->name,
			    off, n);
			goto out;
		}
	}
	serial_api->reply_ok(ctx, "%zu", n);
out:
	serial_unlock(p);
	free(bytes);
}

/*
 * serial read <port> [max_bytes] [timeout_ms]: what arrived, escaped.
 * Waits up to timeout_ms for a first byte, then takes more until
 * max_bytes are there or the line has been quiet for serial_gap_ms()
 * (a message sent at once is read at once, not byte by byte); bytes
 * past max_bytes stay for the next read.  Nothing in time: OK, empty.
 */
static void
serial_read(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_port *p;
	long max = SERIAL_READ_DEFAULT, timeout = SERIAL_TIMEOUT_DEFAULT;
	long end, quiet_end, gap, r;
	size_t n;

	if ((p = serial_find(ctx, st, argv[0])) == NULL ||
	    (argc > 1 && parse_number(ctx, argv[1], "max_bytes", 1,
	    SERIAL_READ_MAX, &max) == -1) ||
	    (argc > 2 && parse_number(ctx, argv[2], "timeout_ms", 0,
	    SERIAL_TIMEOUT_MAX, &timeout) == -1) ||
	    serial_lock(ctx, p) == -1)
		return;
	if (serial_ensure_open(ctx, p) == -1 || refuse_if_watched(ctx, p) == -1)
		goto out;
	end = serial_now_ms() + serial_budget(ctx, timeout);
	gap = serial_gap_ms(&p->set);
	/* Bytes left by an earlier readline count as arrived just now. */
	quiet_end = serial_now_ms() + gap;
	for (;;) {
		while ((r = serial_fill(p)) > 0)
			quiet_end = serial_now_ms() + gap;
		if (r == -1) {
			reply_read_error(ctx, p, errno);
			goto out;
		}
		if (p->len >= (size_t)max)
			break;
		if (p->len > 0 && quiet_end < end)
			end = quiet_end;
		if (serial_now_ms() >= end ||
		    serial_poll(p->link.rfd, POLLIN, end - serial_now_ms()) == 0)
			break;
	}
	/* What came during the last wait's final moment counts too. */
	if (serial_fill(p) == -1) {
		reply_read_error(ctx, p, errno);
		goto out;
	}
	n = p->len < (size_t)max ? p->len : (size_t)max;
	if (n == 0)
		serial_api->reply_ok(ctx, "%s", "");
	else
		reply_bytes(ctx, p, 0, n, false, n);
out:
	serial_unlock(p);
}

/*
 * serial readline <port> [timeout_ms]: the next line without its CR LF,
 * escaped; a line longer than SERIAL_LINE_MAX comes in pieces ending in
 * "\+".  No whole line in time: OK, empty, and the part that came stays
 * for the next readline (or read).
 */
static void
serial_readline(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_port *p;
	long timeout = SERIAL_TIMEOUT_DEFAULT, end, r;
	size_t start, n, used;
	bool more;

	if ((p = serial_find(ctx, st, argv[0])) == NULL ||
	    (argc > 1 && parse_number(ctx, argv[1], "timeout_ms", 0,
	    SERIAL_TIMEOUT_MAX, &timeout) == -1) ||
	    serial_lock(ctx, p) == -1)
		return;
	if (serial_ensure_open(ctx, p) == -1 || refuse_if_watched(ctx, p) == -1)
		goto out;
	end = serial_now_ms() + serial_budget(ctx, timeout);
	for (;;) {
		if (serial_line_next(p->buf, p->len, &start, &n, &more, &used)) {
			reply_bytes(ctx, p, start, n, more, used);
			goto out;
		}
		/* Empty lines are skipped: drop them now. */
		memmove(p->buf, p->buf + used, p->len - used);
		p->len -= used;
		if ((r = serial_fill(p)) > 0)
			continue;
		if (r == -1) {
			reply_read_error(ctx, p, errno);
			goto out;
		}
		if (serial_now_ms() >= end ||
		    serial_poll(p->link.rfd, POLLIN, end - serial_now_ms()) == 0)
			break;
	}
	/* The last bytes in: one more look for a line. */
	if (serial_fill(p) == -1) {
		reply_read_error(ctx, p, errno);
		goto out;
	}
	if (serial_line_next(p->buf, p->len, &start, &n, &more, &used))
		reply_bytes(ctx, p, start, n, more, used);
	else
		serial_api->reply_ok(ctx, "%s", "");
out:
	serial_unlock(p);
}

/*
 * serial flush <port>: drop what was received and not read (picmd's
 * buffer and the kernel's), e.g. before a command whose answer is
 * awaited.  OK <count> of the bytes dropped.  Output is not touched.
 */
static void
serial_flush(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_port *p;
	char buf[128];
	long dropped;

	(void)argc;
	if ((p = serial_find(ctx, st, argv[0])) == NULL ||
	    serial_lock(ctx, p) == -1)
		return;
	if (serial_ensure_open(ctx, p) == -1)
		goto out;
	if ((dropped = st->be->ops->discard(st->be, p->idx)) == -1) {
		if (serial_errno_gone(errno)) {
			serial_hangup(p);
			serial_reply_gone(ctx, p);
		} else
			serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: "
			    "flush %s: %s", p->name, p->set.device,
			    strerror_r(errno, buf, sizeof(buf)));
		goto out;
	}
	serial_api->reply_ok(ctx, "%zu", p->len + (size_t)dropped);
	p->len = 0;
out:
	serial_unlock(p);
}

/*
 * serial list: "name:speed:framing:flow:state:watch:device" per port,
 * in the config's order; state is closed (not used yet), open, or gone
 * (hung up, opened again by a later command); watch is "watched" or
 * "-".  The device comes last because a path may hold ':'.  An open
 * port that hung up is found and closed here, so gone means gone.
 */
static void
serial_list(picmd_ctx *ctx, int argc, const char *const *argv)
{
	static const char *const states[] = {
		[PORT_CLOSED] = "closed", [PORT_OPEN] = "open",
		[PORT_GONE] = "gone",
	};
	struct serial_state *st = serial_api->state(ctx);
	char framing[4];

	(void)argc;
	(void)argv;
	serial_api->reply_ok(ctx, "%s", "");
	for (unsigned i = 0; i < st->nports; i++) {
		struct serial_port *p = &st->ports[i];
		enum port_state state;
		bool watched;

		if (serial_lock(ctx, p) == -1)
			return;
		serial_check(p);
		state = p->state;
		watched = p->watched;
		serial_unlock(p);
		serial_framing(&p->set, framing);
		serial_api->reply_append(ctx, "%s%s:%u:%s:%s:%s:%s:%s",
		    i > 0 ? " " : "", p->name, p->set.speed, framing,
		    serial_flow_word(p->set.flow), states[state],
		    watched ? "watched" : "-", p->set.device);
	}
}

/*
 * Sim only: the outside world.  unplug pulls the simulated device out
 * (the open port hangs up, opening fails), plug puts it back.
 */
static void
serial_sim_set(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct serial_state *st = serial_api->state(ctx);
	struct serial_port *p;
	bool gone;
	char buf[128];

	(void)argc;
	if ((p = serial_find(ctx, st, argv[0])) == NULL)
		return;
	if (strcasecmp(argv[1], "unplug") == 0)
		gone = true;
	else if (strcasecmp(argv[1], "plug") == 0)
		gone = false;
	else {
		serial_api->reply_error(ctx, PICMD_ERR_ARGS, "sim-set takes unplug "
		    "or plug, not '%s'", argv[1]);
		return;
	}
	if (serial_lock(ctx, p) == -1)
		return;
	if (serial_sim_unplug(st->be, p->idx, gone) == -1)
		serial_api->reply_error(ctx, PICMD_ERR_DEVICE, "port %s: %s",
		    p->name, strerror_r(errno, buf, sizeof(buf)));
	serial_unlock(p);
}

static const struct picmd_command commands[] = {
	{ "serial write", "serial write <port> <text>|hex:<bytes>", 2,
	    PICMD_ARGS_ANY, 0, serial_write },
	{ "serial read", "serial read <port> [max_bytes] [timeout_ms]", 1, 3,
	    0, serial_read },
	{ "serial readline", "serial readline <port> [timeout_ms]", 1, 2, 0,
	    serial_readline },
	{ "serial flush", "serial flush <port>", 1, 1, 0, serial_flush },
	{ "serial list", "serial list", 0, 0, 0, serial_list },
	{ "serial watch", "serial watch <port>", 1, 1, 0, serial_watch },
	{ "serial unwatch", "serial unwatch <port>", 1, 1, 0, serial_unwatch },
};

static const struct picmd_command sim_set_command = {
	"serial sim-set", "serial sim-set <port> unplug|plug", 2, 2, 0,
	serial_sim_set,
};

/* ---- load time ---- */

static void
serial_fini(void *state)
{
	struct serial_state *st = state;

	if (st == NULL)
		return;
	serial_watch_fini(st);
	/* Closing releases every port. */
	if (st->be != NULL)
		st->be->ops->close(st->be);
	for (unsigned i = 0; i < st->nmutexes; i++)
		pthread_mutex_destroy(&st->ports[i].mu);
	for (unsigned i = 0; st->ports != NULL && i < st->nports; i++)
		free(st->ports[i].set.device);
	free(st->ports);
	pthread_mutex_destroy(&st->tick_mu);
	free(st);
}

/* Every key but backend is a port; 0 or the number of problems. */
static int
read_ports(picmd_init *init, struct serial_state *st)
{
	char why[256];
	int bad = 0;

	for (int i = 0; i < serial_api->config_count(init); i++) {
		const char *k = serial_api->config_key(init, i);
		const char *v = serial_api->config_value(init, i);
		struct serial_port *p = &st->ports[st->nports];

		if (strcmp(k, "backend") == 0)
			continue;
		if (!serial_name_ok(k)) {
			serial_api->config_error(init, k, "port name '%s' must be "
			    "1 to %d letters, digits, '_' or '-' (it names "
			    "the topic serial.<name>)", k, SERIAL_NAME_MAX);
			bad++;
			continue;
		}
		if (serial_parse_settings(v, &p->set, why, sizeof(why)) == -1) {
			serial_api->config_error(init, k, "port %s: %s", k, why);
			bad++;
			continue;
		}
		for (unsigned j = 0; j < st->nports; j++) {
			const struct serial_port *q = &st->ports[j];

			if (strcasecmp(q->name, k) == 0) {
				serial_api->config_error(init, k, "ports '%s' and "
				    "'%s' differ only in case", q->name, k);
				bad++;
			} else if (strcmp(q->set.device, p->set.device) == 0) {
				serial_api->config_error(init, k, "ports '%s' and "
				    "'%s' name the same device %s", q->name, k,
				    p->set.device);
				bad++;
			}
		}
		memcpy(p->name, k, strlen(k) + 1);
		p->idx = st->nports;
		p->st = st;
		st->nports++;
	}
	return bad;
}

static int
serial_init(const struct picmd_api *host, picmd_init *init)
{
	const char *backend;
	struct serial_state *st;
	int nkeys;

	serial_api = host;
	if ((backend = serial_api->config_get(init, "backend")) == NULL)
		backend = "dev";
	if (strcmp(backend, "dev") != 0 && strcmp(backend, "sim") != 0) {
		serial_api->config_error(init, "backend", "backend must be dev or "
		    "sim, not '%s'", backend);
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		serial_api->log(PICMD_LOG_ERROR, "serial: out of memory");
		return -1;
	}
	pthread_mutex_init(&st->tick_mu, NULL);
	st->tick_fd = -1;
	/* From here on the loader hands st to fini() if init fails. */
	serial_api->set_state(init, st);
	nkeys = serial_api->config_count(init);
	if (nkeys > 0 && (st->ports = calloc((size_t)nkeys,
	    sizeof(*st->ports))) == NULL) {
		serial_api->log(PICMD_LOG_ERROR, "serial: out of memory");
		return -1;
	}
	if (read_ports(init, st) > 0)
		return -1;
	st->be = strcmp(backend, "sim") == 0 ? serial_sim_new(st->nports) :
	    serial_dev_new(st->nports);
	if (st->be == NULL) {
		serial_api->log(PICMD_LOG_ERROR, "serial: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < st->nports; i++) {
		if (pthread_mutex_init(&st->ports[i].mu, NULL) != 0) {
			serial_api->log(PICMD_LOG_ERROR, "serial: cannot create a "
			    "mutex");
			return -1;
		}
		st->nmutexes++;
	}
	serial_api->log(PICMD_LOG_INFO, "serial: %s backend, %u port%s",
	    st->be->kind, st->nports, st->nports == 1 ? "" : "s");

	if (sysfs_register(serial_api, init, commands,
	    SYSFS_NELEM(commands)) == -1)
		return -1;
	/* Watches need a daemon that has events (api->size says so). */
	if (serial_api->size >= offsetof(struct picmd_api, unwatch_fd) +
	    sizeof(serial_api->unwatch_fd)) {
		st->host = serial_api->host(init);
		if (serial_api->register_topic(init, "serial",
		    serial_normalise_topic) == -1)
			return -1;
	}
	/* Only a simulated device has an outside world to set. */
	if (strcmp(st->be->kind, "sim") == 0 &&
	    serial_api->register_command(init, &sim_set_command) == -1)
		return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "serial",
	.version = "1.0",
	.init = serial_init,
	.fini = serial_fini,
};
