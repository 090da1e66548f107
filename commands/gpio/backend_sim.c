/*
 * The simulated chip: 54 lines named "GPIO0".."GPIO53" like a Pi 3's
 * header chip, kept in memory, so the daemon works on a PC and the tests
 * need no hardware.
 *
 * Model of one line:
 *  - an output reads back the level it drives;
 *  - an input reads what drives it from outside (gpio sim-set), and when
 *    nothing does, its pull: pull-up idles at 1, anything else at 0;
 *  - a released line keeps its direction and level, as on current Pi
 *    kernels;
 *  - "another program" can hold a line (gpio sim-set <line> busy), so
 *    clients can see the EBUSY answer a real chip gives.
 * Per-line state only, and gpio.c serialises calls per line (backend.h),
 * so no lock is needed here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct sim_line {
	enum gpio_dir	 dir;
	enum gpio_bias	 bias;
	int		 out;		/* level driven as an output */
	int		 ext;		/* driven from outside: 0, 1, -1 none */
	bool		 ours;		/* requested by picmd */
	long		 edges;		/* level changes seen */
	char		 other[GPIO_NAME_MAX];	/* another program's claim */
};

struct sim_backend {
	struct gpio_backend	 be;		/* first: the common head */
	struct sim_line		 lines[GPIO_SIM_LINES];
};

static struct sim_line *
sl(struct gpio_backend *be, unsigned off)
{
	return &((struct sim_backend *)be)->lines[off];
}

static int
sim_level(const struct sim_line *l)
{
	if (l->dir == GPIO_DIR_OUT)
		return l->out;
	if (l->ext >= 0)
		return l->ext;
	return l->bias == GPIO_BIAS_PULL_UP ? 1 : 0;
}

/* Count a change of the line's level, whatever caused it. */
static void
sim_edge(struct sim_line *l, int before)
{
	if (sim_level(l) != before)
		l->edges++;
}

static void
sim_drive(struct sim_line *l, int value)
{
	int before = sim_level(l);

	l->dir = GPIO_DIR_OUT;
	l->out = value ? 1 : 0;
	sim_edge(l, before);
}

static int
sim_line_info(struct gpio_backend *be, unsigned off,
    struct gpio_line_info *info)
{
	struct sim_line *l = sl(be, off);

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "GPIO%u", off);
	if (l->ours)
		snprintf(info->consumer, sizeof(info->consumer), "%s",
		    GPIO_CONSUMER);
	else
		memcpy(info->consumer, l->other, sizeof(info->consumer));
	info->dir = l->dir;
	info->bias = l->bias;
	info->used = l->ours || l->other[0] != '\0';
	info->edges = l->edges;
	return 0;
}

/* Taking a line another program holds fails as the kernel's does. */
static int
sim_take(struct sim_line *l)
{
	if (l->other[0] != '\0') {
		errno = EBUSY;
		return -1;
	}
	l->ours = true;
	return 0;
}

static int
sim_request_as_is(struct gpio_backend *be, unsigned off)
{
	return sim_take(sl(be, off));
}

static int
sim_request_input(struct gpio_backend *be, unsigned off,
    enum gpio_bias bias)
{
	struct sim_line *l = sl(be, off);
	int before = sim_level(l);

	if (sim_take(l) == -1)
		return -1;
	l->dir = GPIO_DIR_IN;
	/* As on the kernel: no bias flag leaves the pull as it was. */
	if (bias != GPIO_BIAS_AS_IS)
		l->bias = bias;
	sim_edge(l, before);
	return 0;
}


static int
sim_request_output(struct gpio_backend *be, unsigned off,
    enum gpio_bias bias, int value)
{
	struct sim_line *l = sl(be, off);

	if (sim_take(l) == -1)
		return -1;
	if (bias != GPIO_BIAS_AS_IS)
		l->bias = bias;
	sim_drive(l, value);
	return 0;
}

static int
sim_get(struct gpio_backend *be, unsigned off)
{
	struct sim_line *l = sl(be, off);

	if (!l->ours) {
		errno = EPERM;	/* what libgpiod says for an unrequested line */
		return -1;
	}
	return sim_level(l);
}

static int
sim_set(struct gpio_backend *be, unsigned off, int value)
{
	struct sim_line *l = sl(be, off);

	if (!l->ours || l->dir != GPIO_DIR_OUT) {
		errno = EPERM;	/* the kernel's answer for an input */
		return -1;
	}
	sim_drive(l, value);
	return 0;
}

static void
sim_release(struct gpio_backend *be, unsigned off)
{
	sl(be, off)->ours = false;
}

static void
sim_close(struct gpio_backend *be)
{
	free(be);
}

static const struct gpio_backend_ops sim_ops = {
	.close = sim_close,
	.line_info = sim_line_info,
	.request_as_is = sim_request_as_is,
	.request_input = sim_request_input,
	.request_output = sim_request_output,
	.get = sim_get,
	.set = sim_set,
	.release = sim_release,
};

struct gpio_backend *
gpio_sim_open(void)
{
	struct sim_backend *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->be.ops = &sim_ops;
	s->be.kind = "sim";
	snprintf(s->be.name, sizeof(s->be.name), "sim");
	snprintf(s->be.label, sizeof(s->be.label), "picmd-sim");
	s->be.nlines = GPIO_SIM_LINES;
	for (unsigned i = 0; i < GPIO_SIM_LINES; i++)
		s->lines[i].ext = -1;
	return &s->be;
}

int
gpio_sim_drive(struct gpio_backend *be, unsigned off, int level)
{
	struct sim_line *l;
	int before;

	if (be->ops != &sim_ops || off >= be->nlines) {
		errno = EINVAL;
		return -1;
	}
	l = sl(be, off);
	before = sim_level(l);
	l->ext = level < 0 ? -1 : level ? 1 : 0;
	sim_edge(l, before);
	return 0;
}

int
gpio_sim_claim(struct gpio_backend *be, unsigned off, const char *consumer)
{
	struct sim_line *l;

	if (be->ops != &sim_ops || off >= be->nlines) {
		errno = EINVAL;
		return -1;
	}
	l = sl(be, off);
	if (consumer != NULL && l->ours) {
		errno = EBUSY;	/* picmd holds it: "another program" can't */
		return -1;
	}
	snprintf(l->other, sizeof(l->other), "%s",
	    consumer != NULL ? consumer : "");
	return 0;
}
