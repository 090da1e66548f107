/*
 * gpio: read and drive GPIO lines through the character device, the
 * interface Raspberry Pi OS recommends (sysfs GPIO is deprecated).
 *
 * Lines are offsets on the chip, i.e. BCM numbers on a Pi; names such as
 * GPIO17 work too.  The hardware is behind backend.h (a real chip through
 * libgpiod 1.x, or an in-memory one); this file parses arguments, keeps
 * which lines picmd holds, and serialises commands per line.
 *
 * Holding: a line picmd has written or set a mode on stays requested
 * (consumer "picmd") until changed, released with "gpio release", or the
 * daemon exits: an output keeps its level only while someone holds it,
 * and on Pi kernels a released pin falls back to an input.
 *
 * Locking: one mutex per line, taken by every command for as long as it
 * works on that line (a pulse holds it for the whole pulse), so commands
 * on one line run one after another and commands on different lines run
 * in parallel.  A command that cannot get its line before its deadline
 * answers ERR BUSY instead of keeping a worker waiting for nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <picmd/plugin.h>

#include "backend.h"
#include "gpio.h"
#include "sysfs.h"

#define PULSE_MAX_MS	60000L
/* Time a pulse keeps back from its deadline to restore the line. */
#define PULSE_MARGIN_MS	50L

const struct picmd_api *gpio_api;

static const char *const bias_words[] = {
	[GPIO_BIAS_AS_IS] = "unknown",
	[GPIO_BIAS_DISABLE] = "no-pull",
	[GPIO_BIAS_PULL_UP] = "pull-up",
	[GPIO_BIAS_PULL_DOWN] = "pull-down",
};

/* ---- argument parsing ---- */

/*
 * The line arg names: an offset ("17"), a line name of the chip ("GPIO17",
 * "SDA1": any case), or GPIO<n> / BCM<n> meaning offset n, so GPIO2 works
 * on a Pi 4 whose line 2 is named SDA1.  0 and *off, or -1 after replying.
 * An offset past the chip's end is ERR DEVICE: whether it exists is a
 * property of the chip, not of the request's syntax.
 */
int
gpio_parse_line(picmd_ctx *ctx, struct gpio_state *st, const char *arg,
    unsigned *off)
{
	unsigned long long n;
	const char *digits = NULL;

	if (isdigit((unsigned char)arg[0])) {
		digits = arg;
	} else if ((arg[0] == '-' || arg[0] == '+') &&
	    isdigit((unsigned char)arg[1])) {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "bad line number '%s': "
		    "lines are 0 to %u", arg, st->nlines - 1);
		return -1;
	} else {
		for (unsigned i = 0; i < st->nlines; i++) {
			if (st->lines[i].name[0] != '\0' &&
			    strcasecmp(st->lines[i].name, arg) == 0) {
				*off = i;
				return 0;
			}
		}
		if (strncasecmp(arg, "GPIO", 4) == 0)
			digits = arg + 4;
		else if (strncasecmp(arg, "BCM", 3) == 0)
			digits = arg + 3;
		if (digits == NULL || !isdigit((unsigned char)digits[0])) {
			gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "unknown line "
			    "'%s': give a number 0 to %u or a line name such "
			    "as GPIO17 (gpio list shows them)", arg,
			    st->nlines - 1);
			return -1;
		}
	}
	if (!sysfs_parse_ull(digits, 1000000, &n)) {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "bad line number '%s': "
		    "lines are 0 to %u", arg, st->nlines - 1);
		return -1;
	}
	if (n >= st->nlines) {
		gpio_api->reply_error(ctx, PICMD_ERR_DEVICE, "line %llu: out of "
		    "range: %s has lines 0 to %u", n, st->be->name,
		    st->nlines - 1);
		return -1;
	}
	*off = (unsigned)n;
	return 0;
}

static int
parse_level(picmd_ctx *ctx, const char *arg, int *level)
{
	if (strcmp(arg, "0") == 0 || strcmp(arg, "1") == 0) {
		*level = arg[0] - '0';
		return 0;
	}
	gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "level must be 0 or 1, not "
	    "'%s'", arg);
	return -1;
}

/* pull-up|pull-down|no-pull, and the raspi-gpio spellings pu|pd|pn. */
int
gpio_parse_pull(picmd_ctx *ctx, const char *arg, enum gpio_bias *bias)
{
	static const struct {
		const char	*word;
		enum gpio_bias	 bias;
	} pulls[] = {
		{ "pull-up", GPIO_BIAS_PULL_UP }, { "pu", GPIO_BIAS_PULL_UP },
		{ "up", GPIO_BIAS_PULL_UP },
		{ "pull-down", GPIO_BIAS_PULL_DOWN },
		{ "pd", GPIO_BIAS_PULL_DOWN }, { "down", GPIO_BIAS_PULL_DOWN },
		{ "no-pull", GPIO_BIAS_DISABLE }, { "pn", GPIO_BIAS_DISABLE },
		{ "none", GPIO_BIAS_DISABLE }, { "off", GPIO_BIAS_DISABLE },
	};

	for (size_t i = 0; i < sizeof(pulls) / sizeof(pulls[0]); i++) {
		if (strcasecmp(arg, pulls[i].word) == 0) {
			*bias = pulls[i].bias;
			return 0;
		}
	}
	gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "pull must be pull-up, "
	    "pull-down or no-pull, not '%s'", arg);
	return -1;
}

/* ---- locking and errors ---- */

/*
 * Take the line's mutex, waiting at most until the command's deadline
 * (a pulse may hold it for up to a minute).  pthread_mutex_timedlock
 * rather than clocklock: ThreadSanitizer understands only the former.
 */
int
gpio_line_lock(picmd_ctx *ctx, struct gpio_state *st, unsigned off)
{
	struct timespec ts;
	long left = gpio_api->remaining_ms(ctx);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&st->lines[off].mu, &ts) == 0)
		return 0;
	gpio_api->reply_error(ctx, PICMD_ERR_BUSY, "line %u: busy with another "
	    "command until after this one's deadline", off);
	return -1;
}

void
gpio_line_unlock(struct gpio_state *st, unsigned off)
{
	pthread_mutex_unlock(&st->lines[off].mu);
}

/* Control bytes, spaces and ':' would break the list/info formats. */
static void
clean_word(char *dst, size_t size, const char *src)
{
	size_t i;

	if (src[0] == '\0') {
		snprintf(dst, size, "-");
		return;
	}
	for (i = 0; src[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c <= ' ' || c == ':' || c == '=' || c == 0x7f) ?
		    '_' : (char)c;
	}
	dst[i] = '\0';
}

/*
 * "ERR DEVICE line 17: <strerror>", naming the holder when another
 * program has the line.  Called with the line locked (it reads the
 * line's info).
 */
void
gpio_device_error(picmd_ctx *ctx, struct gpio_state *st, unsigned off, int err)
{
	struct gpio_line_info info;
	char buf[128], who[GPIO_NAME_MAX];
	const char *msg = strerror_r(err, buf, sizeof(buf));

	if (err == EBUSY && st->be->ops->line_info(st->be, off, &info) == 0 &&
	    info.consumer[0] != '\0') {
		clean_word(who, sizeof(who), info.consumer);
		gpio_api->reply_error(ctx, PICMD_ERR_DEVICE, "line %u: %s (in use "
		    "by %s)", off, msg, who);
		return;
	}
	gpio_api->reply_error(ctx, PICMD_ERR_DEVICE, "line %u: %s", off, msg);
}

/*
 * The line's level if picmd holds it, else -2 ("-" in list/info): reading
 * a line nobody holds means requesting it, and releasing it again turns
 * a pin back into an input on Pi kernels - which would break a pin that
 * a UART or SPI driver uses through its alternate function.
 */
static int
held_level(struct gpio_state *st, unsigned off)
{
	if (st->lines[off].held == HOLD_NONE)
		return -2;
	return st->be->ops->get(st->be, off);
}

/* A held_level() result as list/info show it. */
static const char *
level_word(int v)
{
	return v < 0 ? "-" : v ? "1" : "0";
}

static void
forget(struct gpio_line *ln)
{
	ln->held = HOLD_NONE;
	ln->bias = GPIO_BIAS_AS_IS;
	ln->value = 0;
	ln->watch = WATCH_NONE;
	ln->lease = 0;
}

/* A watched input belongs to its watch: driving it is refused. */
int
gpio_refuse_if_watched(picmd_ctx *ctx, struct gpio_state *st, unsigned off)
{
	if (st->lines[off].watch == WATCH_NONE)
		return 0;
	gpio_api->reply_error(ctx, PICMD_ERR_BUSY, "line %u is watched for edges: "
	    "gpio unwatch %u first", off, off);
	return -1;
}

/* ---- handlers ---- */

static void
gpio_read(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_backend *be = st->be;
	unsigned off;
	int v;

	(void)argc;
	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    gpio_line_lock(ctx, st, off) == -1)
		return;
	if (st->lines[off].held != HOLD_NONE) {
		v = be->ops->get(be, off);
	} else if ((v = be->ops->request_as_is(be, off)) == 0) {
		/* Borrow it as it is, like gpioget, and give it back. */
		int err;

		v = be->ops->get(be, off);
		err = errno;
		be->ops->release(be, off);
		errno = err;
	}
	if (v < 0)
		gpio_device_error(ctx, st, off, errno);
	else
		gpio_api->reply_ok(ctx, "%d", v);
	gpio_line_unlock(st, off);
}

static void
gpio_write(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_backend *be = st->be;
	struct gpio_line *ln;
	unsigned off;
	int level, rc;

	uint64_t lease = 0;

	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    parse_level(ctx, argv[1], &level) == -1)
		return;
	if (argc > 2) {
		if (strcasecmp(argv[2], "lease") != 0) {
			gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "usage: gpio "
			    "write <line> 0|1 [lease]");
			return;
		}
		if (st->leases)
			lease = gpio_api->lease(ctx);
		if (lease == 0) {
			gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "no lease on "
			    "this connection: LEASE <ms> first");
			return;
		}
	}
	if (gpio_line_lock(ctx, st, off) == -1)
		return;
	ln = &st->lines[off];
	if (gpio_refuse_if_watched(ctx, st, off) == -1) {
		gpio_line_unlock(st, off);
		return;
	}
	/* As in pigpio, a write ends a PWM. */
	gpio_pwm_stop(st, off, level);
	if (ln->held == HOLD_OUT)
		rc = be->ops->set(be, off, level);
	else
		rc = be->ops->request_output(be, off, ln->bias, level);
	if (rc == -1) {
		gpio_device_error(ctx, st, off, errno);
	} else {
		ln->held = HOLD_OUT;
		ln->value = level;
		/* The latest write decides: bound, or not any more. */
		ln->lease = lease;
	}
	gpio_line_unlock(st, off);
}

/*
 * "mode in" without a pull keeps the pull picmd set before (or leaves the
 * hardware's alone), like raspi-gpio.  "mode out" keeps the level of a
 * line that is already an output of ours, and otherwise drives 0: a
 * predictable level beats copying a floating input's.
 */
static void
gpio_mode(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_backend *be = st->be;
	struct gpio_line *ln;
	enum gpio_bias bias = GPIO_BIAS_AS_IS;
	bool out, have_pull = argc > 2;
	unsigned off;
	int rc, value;

	if (gpio_parse_line(ctx, st, argv[0], &off) == -1)
		return;
	if (strcasecmp(argv[1], "in") == 0 ||
	    strcasecmp(argv[1], "input") == 0) {
		out = false;
	} else if (strcasecmp(argv[1], "out") == 0 ||
	    strcasecmp(argv[1], "output") == 0) {
		out = true;
	} else {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "mode must be in or "
		    "out, not '%s'", argv[1]);
		return;
	}
	if (have_pull && gpio_parse_pull(ctx, argv[2], &bias) == -1)
		return;
	if (gpio_line_lock(ctx, st, off) == -1)
		return;
	ln = &st->lines[off];
	if (gpio_refuse_if_watched(ctx, st, off) == -1) {
		gpio_line_unlock(st, off);
		return;
	}
	gpio_pwm_stop(st, off, 0);
	if (!have_pull)
		bias = ln->bias;
	if (!out) {
		rc = be->ops->request_input(be, off, bias);
		value = 0;
	} else if (ln->held == HOLD_OUT && !have_pull) {
		rc = 0;
		value = ln->value;
	} else {
		value = ln->held == HOLD_OUT ? ln->value : 0;
		rc = be->ops->request_output(be, off, bias, value);
	}
	if (rc == -1) {
		gpio_device_error(ctx, st, off, errno);
	} else {
		ln->held = out ? HOLD_OUT : HOLD_IN;
		ln->bias = bias;
		ln->value = value;
	}
	gpio_line_unlock(st, off);
}

/* Put the line back as it was before a pulse; 0 or -1 with errno. */
static int
pulse_restore(struct gpio_state *st, unsigned off, enum hold held,
    enum gpio_dir dir0, int v0)
{
	struct gpio_backend *be = st->be;
	struct gpio_line *ln = &st->lines[off];
	int rc;

	switch (held) {
	case HOLD_OUT:
		return be->ops->set(be, off, ln->value);
	case HOLD_IN:
		return be->ops->request_input(be, off, ln->bias);
	case HOLD_NONE:
		break;
	}
	/* Borrowed for the pulse: restore direction and level, let go. */
	if (dir0 == GPIO_DIR_OUT)
		rc = be->ops->request_output(be, off, GPIO_BIAS_AS_IS, v0);
	else
		rc = be->ops->request_input(be, off, GPIO_BIAS_AS_IS);
	if (rc == -1) {
		int err = errno;

		be->ops->release(be, off);
		errno = err;
		return -1;
	}
	be->ops->release(be, off);
	return 0;
}

/*
 * Drive the level for ms, then restore what was there: the level of an
 * output of ours, the pull of an input of ours, or - for a line picmd did
 * not hold - the direction and level it had, and release it.  The whole
 * pulse holds the line's mutex, so nothing else touches the line meanwhile.
 */
static void
gpio_pulse(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_backend *be = st->be;
	struct gpio_line_info info;
	struct gpio_line *ln;
	struct timespec end;
	enum gpio_dir dir0 = GPIO_DIR_IN;
	enum hold held;
	unsigned long long ms;
	unsigned off;
	int level = 1, v0 = 0, rc, err;
	long left;

	if (gpio_parse_line(ctx, st, argv[0], &off) == -1)
		return;
	if (!sysfs_parse_ull(argv[1], PULSE_MAX_MS, &ms) || ms == 0) {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "pulse length must be a "
		    "whole number of milliseconds from 1 to %ld", PULSE_MAX_MS);
		return;
	}
	if (argc > 2 && parse_level(ctx, argv[2], &level) == -1)
		return;
	if (gpio_line_lock(ctx, st, off) == -1)
		return;
	ln = &st->lines[off];
	held = ln->held;
	if (gpio_refuse_if_watched(ctx, st, off) == -1)
		goto out;

	/* Refuse up front rather than cut the pulse short at the deadline. */
	left = gpio_api->remaining_ms(ctx);
	if ((long)ms + PULSE_MARGIN_MS > left) {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "a %llu ms pulse does "
		    "not fit in the %ld ms left before this command times out "
		    "([server] command_timeout_ms)", ms, left);
		goto out;
	}
	/* The pulse then restores the low the PWM left. */
	gpio_pwm_stop(st, off, 0);

	if (held == HOLD_NONE) {
		/* Borrow the line as it is to learn what to restore. */
		if (be->ops->request_as_is(be, off) == -1) {
			gpio_device_error(ctx, st, off, errno);
			goto out;
		}
		if (be->ops->line_info(be, off, &info) == -1 ||
		    (v0 = be->ops->get(be, off)) < 0) {
			err = errno;
			be->ops->release(be, off);
			gpio_device_error(ctx, st, off, err);
			goto out;
		}
		dir0 = info.dir;
	}

	if (held == HOLD_OUT)
		rc = be->ops->set(be, off, level);
	else
		rc = be->ops->request_output(be, off, ln->bias, level);
	if (rc == -1) {
		err = errno;
		(void)pulse_restore(st, off, held, dir0, v0);
		gpio_device_error(ctx, st, off, err);
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)(ms / 1000);
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) ==
	    EINTR)
		;

	if (pulse_restore(st, off, held, dir0, v0) == -1) {
		char buf[128];

		err = errno;
		/* A failed reconfiguration leaves the line as it was: ours,
		 * driving the pulse level.  A borrowed line was let go. */
		if (held != HOLD_NONE) {
			ln->held = HOLD_OUT;
			ln->value = level;
		}
		gpio_api->reply_error(ctx, PICMD_ERR_DEVICE, "line %u: pulse sent, "
		    "but restoring the line failed: %s", off,
		    strerror_r(err, buf, sizeof(buf)));
	}
out:
	gpio_line_unlock(st, off);
}

/* "offset:name:direction:value" for every line, space-separated. */
static void
gpio_list(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_line_info info;
	char name[GPIO_NAME_MAX];

	(void)argc;
	(void)argv;
	gpio_api->reply_ok(ctx, "%s", "");
	for (unsigned i = 0; i < st->nlines; i++) {
		int v;

		if (gpio_line_lock(ctx, st, i) == -1)
			return;
		if (st->be->ops->line_info(st->be, i, &info) == -1 ||
		    (v = held_level(st, i)) == -1) {
			gpio_device_error(ctx, st, i, errno);
			gpio_line_unlock(st, i);
			return;
		}
		gpio_line_unlock(st, i);
		clean_word(name, sizeof(name), info.name);
		gpio_api->reply_append(ctx, "%s%u:%s:%s:%s", i > 0 ? " " : "", i,
		    name, info.dir == GPIO_DIR_OUT ? "out" : "in",
		    level_word(v));
	}
}

static void
gpio_info(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_line_info info;
	char name[GPIO_NAME_MAX], who[GPIO_NAME_MAX];
	unsigned off;
	int v;

	(void)argc;
	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    gpio_line_lock(ctx, st, off) == -1)
		return;
	if (st->be->ops->line_info(st->be, off, &info) == -1 ||
	    (v = held_level(st, off)) == -1) {
		gpio_device_error(ctx, st, off, errno);
		gpio_line_unlock(st, off);
		return;
	}
	gpio_line_unlock(st, off);
	clean_word(name, sizeof(name), info.name);
	clean_word(who, sizeof(who), info.consumer);
	gpio_api->reply_ok(ctx, "offset=%u name=%s direction=%s value=%s bias=%s "
	    "used=%s consumer=%s", off, name,
	    info.dir == GPIO_DIR_OUT ? "out" : "in", level_word(v),
	    bias_words[info.bias], info.used ? "yes" : "no", who);
	if (info.edges >= 0)
		gpio_api->reply_append(ctx, " edges=%ld", info.edges);
}

/* Give a line back to the system (and to other programs). */
static void
gpio_release(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	unsigned off;

	(void)argc;
	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    gpio_line_lock(ctx, st, off) == -1)
		return;
	gpio_pwm_stop(st, off, 0);
	gpio_watch_end(st, off);
	if (st->lines[off].held != HOLD_NONE)
		st->be->ops->release(st->be, off);
	forget(&st->lines[off]);
	gpio_line_unlock(st, off);
}

static void
gpio_chip(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	char label[GPIO_NAME_MAX];

	(void)argc;
	(void)argv;
	clean_word(label, sizeof(label), st->be->label);
	gpio_api->reply_ok(ctx, "backend=%s name=%s label=%s lines=%u",
	    st->be->kind, st->be->name, label, st->nlines);
}

/*
 * Sim only: what the outside world does to a line.  0|1 drive an input,
 * float stops driving it (its pull decides), busy/free pretend another
 * program holds the line or let it go.
 */
static void
gpio_sim_set(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	const char *what = argv[1];
	unsigned off;
	int rc;

	(void)argc;
	if (gpio_parse_line(ctx, st, argv[0], &off) == -1)
		return;
	if (strcmp(what, "0") != 0 && strcmp(what, "1") != 0 &&
	    strcasecmp(what, "float") != 0 && strcasecmp(what, "busy") != 0 &&
	    strcasecmp(what, "free") != 0) {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "sim-set takes 0, 1, "
		    "float, busy or free, not '%s'", what);
		return;
	}
	if (gpio_line_lock(ctx, st, off) == -1)
		return;
	if (strcasecmp(what, "busy") == 0)
		rc = gpio_sim_claim(st->be, off, "other-program");
	else if (strcasecmp(what, "free") == 0)
		rc = gpio_sim_claim(st->be, off, NULL);
	else if (strcasecmp(what, "float") == 0)
		rc = gpio_sim_drive(st->be, off, -1);
	else
		rc = gpio_sim_drive(st->be, off, what[0] - '0');
	/* The outside world moved a watched input: an edge, maybe. */
	if (rc == 0 && st->lines[off].watch != WATCH_NONE)
		gpio_publish_edge(st, off, st->be->ops->get(st->be, off));
	if (rc == -1 && errno == EBUSY)
		gpio_api->reply_error(ctx, PICMD_ERR_BUSY, "line %u is held by "
		    "picmd: gpio release %u first", off, off);
	else if (rc == -1)
		gpio_device_error(ctx, st, off, errno);
	gpio_line_unlock(st, off);
}

/*
 * A lease was lost (on a worker): every output written with "lease" by
 * that lease's holder goes to its safe level ([gpio] safe.N, default 0).
 */
static void
gpio_lease_lost(void *state, uint64_t lease)
{
	struct gpio_state *st = state;

	for (unsigned i = 0; i < st->nlines; i++) {
		struct gpio_line *ln = &st->lines[i];

		pthread_mutex_lock(&ln->mu);
		if (ln->lease == lease && ln->held == HOLD_OUT) {
			gpio_pwm_stop(st, i, ln->safe);
			if (st->be->ops->set(st->be, i, ln->safe) == -1)
				gpio_api->log(PICMD_LOG_ERROR, "gpio: line %u: "
				    "cannot set its safe level %d: %s", i,
				    ln->safe, strerror(errno));
			else {
				ln->value = ln->safe;
				gpio_api->log(PICMD_LOG_WARN, "gpio: line %u: "
				    "its lease was lost; set to %d", i,
				    ln->safe);
			}
			ln->lease = 0;
		}
		pthread_mutex_unlock(&ln->mu);
	}
}

static const struct picmd_command commands[] = {
	{ "gpio read", "gpio read <line>", 1, 1, 0, gpio_read },
	{ "gpio write", "gpio write <line> 0|1 [lease]", 2, 3, 0, gpio_write },
	{ "gpio mode", "gpio mode <line> in|out [pull-up|pull-down|no-pull]",
	    2, 3, 0, gpio_mode },
	{ "gpio pulse", "gpio pulse <line> <ms> [0|1]", 2, 3, 0, gpio_pulse },
	{ "gpio list", "gpio list", 0, 0, 0, gpio_list },
	{ "gpio info", "gpio info <line>", 1, 1, 0, gpio_info },
	{ "gpio release", "gpio release <line>", 1, 1, 0, gpio_release },
	{ "gpio chip", "gpio chip", 0, 0, 0, gpio_chip },
	{ "gpio watch", "gpio watch <line> rising|falling|both [debounce_ms] "
	    "[pull-up|pull-down|no-pull]", 2, 4, 0, gpio_watch },
	{ "gpio unwatch", "gpio unwatch <line>", 1, 1, 0, gpio_unwatch },
	{ "gpio pwm", "gpio pwm <line> [<hz> <duty>|off]", 1, 3, 0, gpio_pwm },
	{ "gpio levels", "gpio levels", 0, 0, 0, gpio_levels },
	{ "gpio pull", "gpio pull <line> pull-up|pull-down|no-pull", 2, 2, 0,
	    gpio_pull },
};

static const struct picmd_command sim_set_command = {
	"gpio sim-set", "gpio sim-set <line> 0|1|float|busy|free", 2, 2, 0,
	gpio_sim_set,
};

/* ---- load time ---- */

static void
gpio_fini(void *p)
{
	struct gpio_state *st = p;

	if (st == NULL)
		return;
	gpio_watch_fini(st);
	/* The PWM thread drives lines through the backend: first. */
	gpio_pwm_fini(st);
	/* Closing releases every line picmd holds. */
	if (st->be != NULL)
		st->be->ops->close(st->be);
	for (unsigned i = 0; i < st->nmutexes; i++)
		pthread_mutex_destroy(&st->lines[i].mu);
	free(st->lines);
	free(st);
}

/*
 * backend = chip: find the chip "chip" names under dev_root.  With no
 * gpiochip at all and chip = auto (a PC, a container) fall back to the
 * simulated chip with a warning, so "make run" works anywhere; a chip
 * that was named but is missing, or chips that are not a Pi's, are
 * configuration errors.
 */
static struct gpio_backend *
open_chip(picmd_init *init, const char *spec, const char *dev_root)
{
	struct gpio_chip_desc *chips;
	struct gpio_backend *be;
	const char *key = gpio_api->config_get(init, "chip") != NULL ? "chip" :
	    NULL;
	char why[1024];
	size_t n;
	int i;

	if (gpio_chip_scan(dev_root, &chips, &n, why, sizeof(why)) == -1) {
		gpio_api->config_error(init, gpio_api->config_get(init, "dev_root") !=
		    NULL ? "dev_root" : key, "%s", why);
		return NULL;
	}
	i = gpio_chip_select(chips, n, spec, why, sizeof(why));
	if (i == GPIO_SELECT_NONE) {
		free(chips);
		gpio_api->log(PICMD_LOG_WARN, "gpio: no GPIO chip in %s; using the "
		    "simulated chip (gpio sim-set drives its inputs)",
		    dev_root);
		return gpio_sim_open();
	}
	if (i == GPIO_SELECT_ERROR) {
		free(chips);
		gpio_api->config_error(init, key, "%s", why);
		return NULL;
	}
	be = gpio_chip_open(dev_root, chips[i].name, why, sizeof(why));
	free(chips);
	if (be == NULL)
		gpio_api->config_error(init, key, "%s", why);
	return be;
}

/* [gpio] safe.17 = 0|1 (or safe.GPIO17): the level line 17 goes to when
 * the lease of the client that wrote it "with lease" is lost. */
static int
read_safe_levels(picmd_init *init, struct gpio_state *st)
{
	char word[32];
	int bad = 0;

	for (int i = 0; i < gpio_api->config_count(init); i++) {
		const char *k = gpio_api->config_key(init, i);
		const char *v = gpio_api->config_value(init, i);
		unsigned long off;

		if (strncmp(k, "safe.", 5) != 0)
			continue;
		if (gpio_normalise_topic(st, k + 5, word, sizeof(word)) == -1) {
			gpio_api->config_error(init, k, "no line '%s' on %s "
			    "(lines 0 to %u)", k + 5, st->be->name,
			    st->nlines - 1);
			bad++;
			continue;
		}
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
			gpio_api->config_error(init, k, "%s must be 0 or 1, not "
			    "'%s'", k, v);
			bad++;
			continue;
		}
		off = strtoul(word, NULL, 10);
		st->lines[off].safe = v[0] - '0';
	}
	return bad;
}

static int
gpio_init(const struct picmd_api *host, picmd_init *init)
{
	static const char *const keys[] = { "backend", "chip", "dev_root",
	    "watch_idle_s" };
	const char *backend, *spec, *dev_root, *v;
	unsigned long long idle;
	struct gpio_state *st;
	int bad = 0;

	gpio_api = host;
	for (int i = 0; i < gpio_api->config_count(init); i++) {
		const char *k = gpio_api->config_key(init, i);
		size_t j;

		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (strcmp(k, keys[j]) == 0)
				break;
		/* safe.<line>: checked once the chip's lines are known. */
		if (j == sizeof(keys) / sizeof(keys[0]) &&
		    strncmp(k, "safe.", 5) != 0) {
			gpio_api->config_error(init, k, "unknown key '%s' (known: "
			    "backend, chip, dev_root, watch_idle_s, "
			    "safe.<line>)", k);
			bad++;
		}
	}
	if ((backend = gpio_api->config_get(init, "backend")) == NULL)
		backend = "chip";
	if (strcmp(backend, "chip") != 0 && strcmp(backend, "sim") != 0) {
		gpio_api->config_error(init, "backend", "backend must be chip or "
		    "sim, not '%s'", backend);
		bad++;
	}
	if ((spec = gpio_api->config_get(init, "chip")) == NULL)
		spec = "auto";
	if (spec[0] == '\0') {
		gpio_api->config_error(init, "chip", "chip must be auto, gpiochipN "
		    "or a chip label");
		bad++;
	}
	if ((dev_root = gpio_api->config_get(init, "dev_root")) == NULL)
		dev_root = "/dev";
	if (dev_root[0] != '/') {
		gpio_api->config_error(init, "dev_root", "dev_root must be an "
		    "absolute path, not '%s'", dev_root);
		bad++;
	}
	if (bad > 0)
		return -1;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		gpio_api->log(PICMD_LOG_ERROR, "gpio: out of memory");
		return -1;
	}
	/* From here on the loader hands st to fini() if init fails. */
	gpio_api->set_state(init, st);
	pthread_mutex_init(&st->idle_mu, NULL);
	st->idle_tfd = -1;
	st->watch_idle_s = 60;
	if ((v = gpio_api->config_get(init, "watch_idle_s")) != NULL) {
		if (!sysfs_parse_ull(v, 86400, &idle)) {
			gpio_api->config_error(init, "watch_idle_s",
			    "watch_idle_s must be 0 (never) to 86400 seconds, "
			    "not '%s'", v);
			return -1;
		}
		st->watch_idle_s = (unsigned)idle;
	}
	if (strcmp(backend, "sim") == 0) {
		if ((st->be = gpio_sim_open()) == NULL) {
			gpio_api->log(PICMD_LOG_ERROR, "gpio: out of memory");
			return -1;
		}
	} else if ((st->be = open_chip(init, spec, dev_root)) == NULL) {
		return -1;
	}
	st->nlines = st->be->nlines;
	if ((st->lines = calloc(st->nlines, sizeof(*st->lines))) == NULL) {
		gpio_api->log(PICMD_LOG_ERROR, "gpio: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < st->nlines; i++) {
		struct gpio_line_info info;

		if (pthread_mutex_init(&st->lines[i].mu, NULL) != 0) {
			gpio_api->log(PICMD_LOG_ERROR, "gpio: cannot create a mutex");
			return -1;
		}
		st->nmutexes++;
		st->lines[i].st = st;
		st->lines[i].off = i;
		st->lines[i].wfd = -1;
		/* Cache the names for lookups without locking every line. */
		if (st->be->ops->line_info(st->be, i, &info) == 0)
			memcpy(st->lines[i].name, info.name,
			    sizeof(st->lines[i].name));
	}
	gpio_api->log(PICMD_LOG_INFO, "gpio: %s backend, %s [%s], %u lines",
	    st->be->kind, st->be->name, st->be->label, st->nlines);
	if (read_safe_levels(init, st) > 0)
		return -1;
	if (gpio_pwm_init(st) == -1) {
		gpio_api->log(PICMD_LOG_ERROR, "gpio: cannot set up the "
		    "software PWM: out of memory");
		return -1;
	}

	if (sysfs_register(gpio_api, init, commands, SYSFS_NELEM(commands)) == -1)
		return -1;
	/* Events need a daemon that has them (api->size says so). */
	if (gpio_api->size >= offsetof(struct picmd_api, subscribed) +
	    sizeof(gpio_api->subscribed)) {
		st->host = gpio_api->host(init);
		if (gpio_api->register_topic(init, "gpio", gpio_normalise_topic) == -1)
			return -1;
	}
	if (gpio_api->size >= offsetof(struct picmd_api, on_lease_lost) +
	    sizeof(gpio_api->on_lease_lost)) {
		if (gpio_api->on_lease_lost(init, gpio_lease_lost) == -1)
			return -1;
		st->leases = true;
	}
	/* Only a simulated chip has an outside world to set. */
	if (strcmp(st->be->kind, "sim") == 0 &&
	    gpio_api->register_command(init, &sim_set_command) == -1)
		return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "gpio",
	.version = "1.0",
	.init = gpio_init,
	.fini = gpio_fini,
};
