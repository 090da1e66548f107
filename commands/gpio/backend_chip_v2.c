/*
 * The chip backend: a real GPIO chip through the character device, with
 * libgpiod 2.x (2.2 in Debian 13 / Raspberry Pi OS trixie).  It speaks
 * the kernel's v2 interface, the only one newer kernels build.
 *
 * Requests: libgpiod 2 hands out a request object per requested set of
 * lines.  picmd requests each line on its own, on first use, and keeps
 * that line's request until release: one gpiod_line_request per line,
 * so get/set/reconfigure of one line never touch another line's object.
 * A held line is changed with gpiod_line_request_reconfigure_lines(),
 * never released and requested again (another program could take it in
 * between, and on Pi kernels a released pin falls back to an input).
 * Every change goes through chip_apply() with a complete line settings
 * object, so enabling edge detection on a held input is one more
 * setting in that object: a reconfigure, not a re-request.
 *
 * Threading: libgpiod 2 is thread-aware but not thread-safe: one object
 * must not be used by two threads at once, different objects may.
 *  - A line's request object is used only under that line's mutex,
 *    which the caller (gpio.c) holds for every per-line call
 *    (backend.h), so calls for different lines run in parallel.
 *  - The chip object is shared by all lines (requesting a line and
 *    reading line info are calls on it), so those calls take chip_mu.
 *    They are short ioctls; reads and writes of held lines (the hot
 *    path) never take it.
 *  - Settings and config objects are made per call, on the caller's
 *    stack of ownership, and freed before it returns.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpiod.h>

#include "backend.h"

struct chip_backend {
	struct gpio_backend		 be;	/* first: the common head */
	struct gpiod_chip		*chip;
	pthread_mutex_t			 chip_mu;	/* calls on chip */
	struct gpiod_line_request	**reqs;	/* per offset; NULL = free */
	struct gpiod_edge_event_buffer	**evbufs; /* per watched offset */
};

static struct chip_backend *
cb(struct gpio_backend *be)
{
	return (struct chip_backend *)be;
}

static void
copy_name(char *dst, const char *src)
{
	snprintf(dst, GPIO_NAME_MAX, "%s", src != NULL ? src : "");
}

static enum gpiod_line_bias
to_gpiod_bias(enum gpio_bias bias)
{
	switch (bias) {
	case GPIO_BIAS_DISABLE:
		return GPIOD_LINE_BIAS_DISABLED;
	case GPIO_BIAS_PULL_UP:
		return GPIOD_LINE_BIAS_PULL_UP;
	case GPIO_BIAS_PULL_DOWN:
		return GPIOD_LINE_BIAS_PULL_DOWN;
	case GPIO_BIAS_AS_IS:
		break;
	}
	return GPIOD_LINE_BIAS_AS_IS;
}

static enum gpio_bias
from_gpiod_bias(enum gpiod_line_bias bias)
{
	switch (bias) {
	case GPIOD_LINE_BIAS_DISABLED:
		return GPIO_BIAS_DISABLE;
	case GPIOD_LINE_BIAS_PULL_UP:
		return GPIO_BIAS_PULL_UP;
	case GPIOD_LINE_BIAS_PULL_DOWN:
		return GPIO_BIAS_PULL_DOWN;
	default:
		/* AS_IS or UNKNOWN: the kernel does not say. */
		return GPIO_BIAS_AS_IS;
	}
}

static int
chip_line_info(struct gpio_backend *be, unsigned off,
    struct gpio_line_info *info)
{
	struct chip_backend *c = cb(be);
	struct gpiod_line_info *li;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&c->chip_mu);
	li = gpiod_chip_get_line_info(c->chip, off);
	pthread_mutex_unlock(&c->chip_mu);
	if (li == NULL)
		return -1;
	copy_name(info->name, gpiod_line_info_get_name(li));
	copy_name(info->consumer, gpiod_line_info_get_consumer(li));
	info->dir = gpiod_line_info_get_direction(li) ==
	    GPIOD_LINE_DIRECTION_OUTPUT ? GPIO_DIR_OUT : GPIO_DIR_IN;
	info->bias = from_gpiod_bias(gpiod_line_info_get_bias(li));
	info->used = gpiod_line_info_is_used(li);
	info->edges = -1;
	gpiod_line_info_free(li);
	return 0;
}

/*
 * Give line off the settings s: reconfigure its request when the line is
 * held, request it (consumer picmd) otherwise.  0, or -1 with errno and
 * the line as it was.
 */
static int
chip_apply(struct chip_backend *c, unsigned off,
    struct gpiod_line_settings *s)
{
	struct gpiod_request_config *rcfg = NULL;
	struct gpiod_line_config *lcfg;
	struct gpiod_line_request *req;
	int rc = -1, err = 0;

	if ((lcfg = gpiod_line_config_new()) == NULL)
		return -1;
	if (gpiod_line_config_add_line_settings(lcfg, &off, 1, s) == -1) {
		err = errno;
		goto out;
	}
	if (c->reqs[off] != NULL) {
		if ((rc = gpiod_line_request_reconfigure_lines(c->reqs[off],
		    lcfg)) == -1)
			err = errno;
		goto out;
	}
	if ((rcfg = gpiod_request_config_new()) == NULL) {
		err = errno;
		goto out;
	}
	gpiod_request_config_set_consumer(rcfg, GPIO_CONSUMER);
	pthread_mutex_lock(&c->chip_mu);
	req = gpiod_chip_request_lines(c->chip, rcfg, lcfg);
	err = errno;
	pthread_mutex_unlock(&c->chip_mu);
	if (req != NULL) {
		c->reqs[off] = req;
		rc = 0;
	}
out:
	gpiod_request_config_free(rcfg);
	gpiod_line_config_free(lcfg);
	if (rc == -1)
		errno = err != 0 ? err : EIO;
	return rc;
}

static int
chip_request(struct gpio_backend *be, unsigned off,
    enum gpiod_line_direction dir, enum gpio_bias bias, int value)
{
	struct gpiod_line_settings *s;
	int rc = -1, err;

	if ((s = gpiod_line_settings_new()) == NULL)
		return -1;
	if (gpiod_line_settings_set_direction(s, dir) == -1 ||
	    gpiod_line_settings_set_bias(s, to_gpiod_bias(bias)) == -1 ||
	    gpiod_line_settings_set_output_value(s, value ?
	    GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) == -1)
		err = errno;
	else if ((rc = chip_apply(cb(be), off, s)) == -1)
		err = errno;
	gpiod_line_settings_free(s);
	if (rc == -1)
		errno = err;
	return rc;
}

static int
chip_request_as_is(struct gpio_backend *be, unsigned off)
{
	/* Held already: it is ours as it is. */
	if (cb(be)->reqs[off] != NULL)
		return 0;
	/* The kernel refuses a bias without a direction. */
	return chip_request(be, off, GPIOD_LINE_DIRECTION_AS_IS,
	    GPIO_BIAS_AS_IS, 0);
}

static int
chip_request_input(struct gpio_backend *be, unsigned off,
    enum gpio_bias bias)
{
	return chip_request(be, off, GPIOD_LINE_DIRECTION_INPUT, bias, 0);
}

static int
chip_request_output(struct gpio_backend *be, unsigned off,
    enum gpio_bias bias, int value)
{
	return chip_request(be, off, GPIOD_LINE_DIRECTION_OUTPUT, bias,
	    value);
}

static int
chip_get(struct gpio_backend *be, unsigned off)
{
	struct gpiod_line_request *req = cb(be)->reqs[off];
	enum gpiod_line_value v;

	if (req == NULL) {
		errno = EPERM;	/* the contract: only on a held line */
		return -1;
	}
	v = gpiod_line_request_get_value(req, off);
	return v == GPIOD_LINE_VALUE_ERROR ? -1 : v == GPIOD_LINE_VALUE_ACTIVE;
}

static int
chip_set(struct gpio_backend *be, unsigned off, int value)
{
	struct gpiod_line_request *req = cb(be)->reqs[off];

	if (req == NULL) {
		errno = EPERM;
		return -1;
	}
	return gpiod_line_request_set_value(req, off, value ?
	    GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
}

static void
chip_release(struct gpio_backend *be, unsigned off)
{
	struct chip_backend *c = cb(be);

	if (c->reqs[off] != NULL) {
		gpiod_line_request_release(c->reqs[off]);
		c->reqs[off] = NULL;
	}
	if (c->evbufs != NULL && c->evbufs[off] != NULL) {
		gpiod_edge_event_buffer_free(c->evbufs[off]);
		c->evbufs[off] = NULL;
	}
}

/* The kernel's debounce (software in gpiolib where the chip has none)
 * and its CLOCK_MONOTONIC stamps, the default event clock. */
static int
chip_watch(struct gpio_backend *be, unsigned off, enum gpio_bias bias,
    unsigned edges, unsigned *debounce_us)
{
	struct chip_backend *c = cb(be);
	struct gpiod_line_settings *s;
	enum gpiod_line_edge edge = GPIOD_LINE_EDGE_NONE;
	int rc = -1, err = 0;

	if (edges == (GPIO_EDGE_RISING | GPIO_EDGE_FALLING))
		edge = GPIOD_LINE_EDGE_BOTH;
	else if (edges == GPIO_EDGE_RISING)
		edge = GPIOD_LINE_EDGE_RISING;
	else if (edges == GPIO_EDGE_FALLING)
		edge = GPIOD_LINE_EDGE_FALLING;
	if (edges != 0 && c->evbufs[off] == NULL &&
	    (c->evbufs[off] = gpiod_edge_event_buffer_new(16)) == NULL)
		return -1;
	if ((s = gpiod_line_settings_new()) == NULL)
		return -1;
	if (gpiod_line_settings_set_direction(s,
	    GPIOD_LINE_DIRECTION_INPUT) == -1 ||
	    gpiod_line_settings_set_bias(s, to_gpiod_bias(bias)) == -1 ||
	    gpiod_line_settings_set_edge_detection(s, edge) == -1)
		err = errno;
	else {
		gpiod_line_settings_set_debounce_period_us(s,
		    edges != 0 ? *debounce_us : 0);
		if ((rc = chip_apply(c, off, s)) == -1)
			err = errno;
	}
	gpiod_line_settings_free(s);
	if (rc == -1) {
		errno = err;
		return -1;
	}
	return edges != 0 ? gpiod_line_request_get_fd(c->reqs[off]) : 0;
}

static int
chip_read_edges(struct gpio_backend *be, unsigned off, struct gpio_edge *ev,
    int n)
{
	struct chip_backend *c = cb(be);
	struct gpiod_line_request *req = c->reqs[off];
	struct gpiod_edge_event_buffer *buf = c->evbufs[off];
	int rc;

	if (req == NULL || buf == NULL) {
		errno = EPERM;
		return -1;
	}
	/* A zero timeout: read only what is there, never block a worker. */
	if ((rc = gpiod_line_request_wait_edge_events(req, 0)) <= 0)
		return rc;
	if ((size_t)n > gpiod_edge_event_buffer_get_capacity(buf))
		n = (int)gpiod_edge_event_buffer_get_capacity(buf);
	if ((rc = gpiod_line_request_read_edge_events(req, buf,
	    (size_t)n)) <= 0)
		return rc;
	for (int i = 0; i < rc; i++) {
		struct gpiod_edge_event *e =
		    gpiod_edge_event_buffer_get_event(buf, (unsigned long)i);

		ev[i].rising = gpiod_edge_event_get_event_type(e) ==
		    GPIOD_EDGE_EVENT_RISING_EDGE;
		ev[i].mono_ns = (long long)gpiod_edge_event_get_timestamp_ns(e);
	}
	return rc;
}

static void
chip_close(struct gpio_backend *be)
{
	struct chip_backend *c = cb(be);

	if (c == NULL)
		return;
	if (c->reqs != NULL)
		for (unsigned i = 0; i < be->nlines; i++)
			chip_release(be, i);
	if (c->chip != NULL)
		gpiod_chip_close(c->chip);
	pthread_mutex_destroy(&c->chip_mu);
	free(c->reqs);
	free(c->evbufs);
	free(c);
}

static const struct gpio_backend_ops chip_ops = {
	.close = chip_close,
	.line_info = chip_line_info,
	.request_as_is = chip_request_as_is,
	.request_input = chip_request_input,
	.request_output = chip_request_output,
	.get = chip_get,
	.set = chip_set,
	.release = chip_release,
	.watch = chip_watch,
	.read_edges = chip_read_edges,
};

/* The chip's name, label and size; -1 with errno. */
static int
read_chip_info(struct gpiod_chip *chip, char *name, char *label,
    unsigned *nlines)
{
	struct gpiod_chip_info *info;
	size_t n;

	if ((info = gpiod_chip_get_info(chip)) == NULL)
		return -1;
	if (name != NULL)
		copy_name(name, gpiod_chip_info_get_name(info));
	copy_name(label, gpiod_chip_info_get_label(info));
	n = gpiod_chip_info_get_num_lines(info);
	*nlines = n > 100000 ? 100000 : (unsigned)n;
	gpiod_chip_info_free(info);
	return 0;
}

struct gpio_backend *
gpio_chip_open(const char *dev_root, const char *name, char *why,
    size_t whylen)
{
	struct chip_backend *c;
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dev_root, name) >=
	    sizeof(path)) {
		snprintf(why, whylen, "path too long");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	c->be.ops = &chip_ops;
	c->be.kind = "chip";
	pthread_mutex_init(&c->chip_mu, NULL);
	if ((c->chip = gpiod_chip_open(path)) == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    gpio_chip_open_reason(errno));
		chip_close(&c->be);
		return NULL;
	}
	if (read_chip_info(c->chip, c->be.name, c->be.label,
	    &c->be.nlines) == -1) {
		snprintf(why, whylen, "%s: cannot read chip info: %s", path,
		    strerror(errno));
		chip_close(&c->be);
		return NULL;
	}
	if (c->be.nlines == 0) {
		snprintf(why, whylen, "%s has no lines", path);
		chip_close(&c->be);
		return NULL;
	}
	if ((c->reqs = calloc(c->be.nlines, sizeof(*c->reqs))) == NULL ||
	    (c->evbufs = calloc(c->be.nlines, sizeof(*c->evbufs))) == NULL) {
		snprintf(why, whylen, "out of memory");
		chip_close(&c->be);
		return NULL;
	}
	return &c->be;
}

int
gpio_chip_probe(const char *path, struct gpio_chip_desc *d)
{
	struct gpiod_chip *chip;
	int rc, err;

	if ((chip = gpiod_chip_open(path)) == NULL)
		return -1;
	rc = read_chip_info(chip, NULL, d->label, &d->nlines);
	err = errno;
	gpiod_chip_close(chip);
	errno = err;
	return rc;
}
