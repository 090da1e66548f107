/*
 * The chip backend: a real GPIO chip through the character device, with
 * libgpiod 1.x (1.6.3 in Debian 12 / Raspberry Pi OS bookworm).
 *
 * libgpiod 1.x is not thread-safe as a whole, but its per-line calls
 * touch only that line's struct gpiod_line (and the chip's fd, which the
 * kernel serialises).  The one shared thing, the chip's lazily allocated
 * line array, is filled completely in gpio_chip_open() on the main
 * thread, so that afterwards the caller's per-line locking is enough.
 *
 * Files: the backend reads none itself.  Chip labels and line info come
 * from ioctls on dev_root/gpiochipN.  (libgpiod's gpiod_chip_open()
 * checks /sys/bus/gpio/devices/<chip>/dev to make sure the device is a
 * GPIO chip; that path is fixed inside libgpiod, so [system] sysfs_root
 * cannot redirect it, and nothing here needs to.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpiod.h>

#include "backend.h"

struct chip_backend {
	struct gpio_backend	 be;		/* first: the common head */
	struct gpiod_chip	*chip;
	struct gpiod_line	**lines;	/* one per offset, from open */
};

static struct chip_backend *
cb(struct gpio_backend *be)
{
	return (struct chip_backend *)be;
}

static int
bias_flags(enum gpio_bias bias)
{
	switch (bias) {
	case GPIO_BIAS_DISABLE:
		return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
	case GPIO_BIAS_PULL_UP:
		return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
	case GPIO_BIAS_PULL_DOWN:
		return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
	case GPIO_BIAS_AS_IS:
		break;
	}
	return 0;
}

static void
copy_name(char *dst, const char *src)
{
	snprintf(dst, GPIO_NAME_MAX, "%s", src != NULL ? src : "");
}

static int
chip_line_info(struct gpio_backend *be, unsigned off,
    struct gpio_line_info *info)
{
	struct gpiod_line *line = cb(be)->lines[off];

	memset(info, 0, sizeof(*info));
	if (gpiod_line_update(line) == -1)
		return -1;
	copy_name(info->name, gpiod_line_name(line));
	copy_name(info->consumer, gpiod_line_consumer(line));
	info->dir = gpiod_line_direction(line) == GPIOD_LINE_DIRECTION_OUTPUT ?
	    GPIO_DIR_OUT : GPIO_DIR_IN;
	switch (gpiod_line_bias(line)) {
	case GPIOD_LINE_BIAS_DISABLE:
		info->bias = GPIO_BIAS_DISABLE;
		break;
	case GPIOD_LINE_BIAS_PULL_UP:
		info->bias = GPIO_BIAS_PULL_UP;
		break;
	case GPIOD_LINE_BIAS_PULL_DOWN:
		info->bias = GPIO_BIAS_PULL_DOWN;
		break;
	default:
		info->bias = GPIO_BIAS_AS_IS;
		break;
	}
	info->used = gpiod_line_is_used(line);
	info->edges = -1;
	return 0;
}

/*
 * A line we hold is reconfigured with GPIOHANDLE_SET_CONFIG (kernel 5.5
 * and later, so every bookworm kernel) rather than released and
 * requested again: releasing would let another program take it, and on
 * Pi kernels a released pin falls back to an input.
 */
static int
chip_request(struct gpio_backend *be, unsigned off, int direction,
    enum gpio_bias bias, int value)
{
	struct gpiod_line *line = cb(be)->lines[off];
	struct gpiod_line_request_config cfg;

	if (gpiod_line_is_requested(line))
		return gpiod_line_set_config(line, direction,
		    bias_flags(bias), value);
	memset(&cfg, 0, sizeof(cfg));
	cfg.consumer = GPIO_CONSUMER;
	cfg.request_type = direction;
	cfg.flags = bias_flags(bias);
	return gpiod_line_request(line, &cfg, value);
}

static int
chip_request_as_is(struct gpio_backend *be, unsigned off)
{
	/* Held already: it is ours as it is. */
	if (gpiod_line_is_requested(cb(be)->lines[off]))
		return 0;
	/* The kernel refuses bias flags without a direction. */
	return chip_request(be, off, GPIOD_LINE_REQUEST_DIRECTION_AS_IS,
	    GPIO_BIAS_AS_IS, 0);
}

static int
chip_request_input(struct gpio_backend *be, unsigned off,
    enum gpio_bias bias)
{
	return chip_request(be, off, GPIOD_LINE_REQUEST_DIRECTION_INPUT, bias,
	    0);
}

static int
chip_request_output(struct gpio_backend *be, unsigned off,
    enum gpio_bias bias, int value)
{
	return chip_request(be, off, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
	    bias, value);
}

static int
chip_get(struct gpio_backend *be, unsigned off)
{
	return gpiod_line_get_value(cb(be)->lines[off]);
}

static int
chip_set(struct gpio_backend *be, unsigned off, int value)
{
	return gpiod_line_set_value(cb(be)->lines[off], value);
}

static void
chip_release(struct gpio_backend *be, unsigned off)
{
	struct gpiod_line *line = cb(be)->lines[off];

	if (gpiod_line_is_requested(line))
		gpiod_line_release(line);
}

/*
 * libgpiod 1.x cannot turn edge detection on or off for a held line
 * (GPIOHANDLE_SET_CONFIG knows no edges): the line is released and
 * requested again, as an event line or a plain input.  Another program
 * could take it in that moment; libgpiod 2 reconfigures in place.  The
 * v1 interface has no debounce either: gpio.c debounces.
 */
static int
chip_watch(struct gpio_backend *be, unsigned off, enum gpio_bias bias,
    unsigned edges, unsigned *debounce_us)
{
	struct gpiod_line *line = cb(be)->lines[off];
	struct gpiod_line_request_config cfg;

	*debounce_us = 0;
	if (gpiod_line_is_requested(line))
		gpiod_line_release(line);
	memset(&cfg, 0, sizeof(cfg));
	cfg.consumer = GPIO_CONSUMER;
	cfg.flags = bias_flags(bias);
	if (edges == (GPIO_EDGE_RISING | GPIO_EDGE_FALLING))
		cfg.request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
	else if (edges == GPIO_EDGE_RISING)
		cfg.request_type = GPIOD_LINE_REQUEST_EVENT_RISING_EDGE;
	else if (edges == GPIO_EDGE_FALLING)
		cfg.request_type = GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE;
	else
		cfg.request_type = GPIOD_LINE_REQUEST_DIRECTION_INPUT;
	if (gpiod_line_request(line, &cfg, 0) == -1)
		return -1;
	return edges != 0 ? gpiod_line_event_get_fd(line) : 0;
}

static int
chip_read_edges(struct gpio_backend *be, unsigned off, struct gpio_edge *ev,
    int n)
{
	struct gpiod_line *line = cb(be)->lines[off];
	struct gpiod_line_event buf[16];
	struct timespec now = { 0, 0 };
	int rc;

	/* A zero timeout: read only what is there, never block a worker. */
	if ((rc = gpiod_line_event_wait(line, &now)) <= 0)
		return rc;
	if (n > (int)(sizeof(buf) / sizeof(buf[0])))
		n = (int)(sizeof(buf) / sizeof(buf[0]));
	if ((rc = gpiod_line_event_read_multiple(line, buf, (unsigned)n)) <= 0)
		return rc;
	for (int i = 0; i < rc; i++) {
		ev[i].rising = buf[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
		ev[i].mono_ns = buf[i].ts.tv_sec * 1000000000LL +
		    buf[i].ts.tv_nsec;
	}
	return rc;
}

static void
chip_close(struct gpio_backend *be)
{
	struct chip_backend *c = cb(be);

	if (c == NULL)
		return;
	if (c->lines != NULL)
		for (unsigned i = 0; i < be->nlines; i++)
			if (c->lines[i] != NULL)
				chip_release(be, i);
	/* gpiod_chip_close() frees the line structs. */
	if (c->chip != NULL)
		gpiod_chip_close(c->chip);
	free(c->lines);
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
	if ((c->chip = gpiod_chip_open(path)) == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    gpio_chip_open_reason(errno));
		free(c);
		return NULL;
	}
	copy_name(c->be.name, gpiod_chip_name(c->chip));
	copy_name(c->be.label, gpiod_chip_label(c->chip));
	c->be.nlines = gpiod_chip_num_lines(c->chip);
	if (c->be.nlines == 0) {
		snprintf(why, whylen, "%s has no lines", path);
		chip_close(&c->be);
		return NULL;
	}
	if ((c->lines = calloc(c->be.nlines, sizeof(*c->lines))) == NULL) {
		snprintf(why, whylen, "out of memory");
		chip_close(&c->be);
		return NULL;
	}
	/* Fill libgpiod's line array now, before any worker runs. */
	for (unsigned i = 0; i < c->be.nlines; i++) {
		if ((c->lines[i] = gpiod_chip_get_line(c->chip, i)) == NULL) {
			/* A kernel built without CONFIG_GPIO_CDEV_V1 (as
			 * Debian's 6.16 and later) refuses v1 ioctls. */
			int err = errno;

			snprintf(why, whylen, "%s: cannot read line %u: %s%s",
			    path, i, strerror(err), err == EINVAL ?
			    " (this kernel lacks the GPIO character device "
			    "v1 interface that libgpiod 1.x uses: build "
			    "picmd against libgpiod 2)" : "");
			chip_close(&c->be);
			return NULL;
		}
	}
	return &c->be;
}

int
gpio_chip_probe(const char *path, struct gpio_chip_desc *d)
{
	struct gpiod_chip *chip;

	if ((chip = gpiod_chip_open(path)) == NULL)
		return -1;
	copy_name(d->label, gpiod_chip_label(chip));
	d->nlines = gpiod_chip_num_lines(chip);
	gpiod_chip_close(chip);
	return 0;
}
