/*
 * gpio levels and gpio pull: what the lines picmd holds read, and a
 * line's pull changed without letting go of it (docs/GPIO.md).
 */
#include <errno.h>

#include "gpio.h"

/*
 * "OK 4:1 17:0 18:1": every line picmd holds (inputs, outputs, PWM
 * lines), in offset order, or plain "OK".  Only held lines: reading any
 * other means requesting it, which on a Pi can switch a pin out of its
 * alternate function (I2C, a UART) - the reason gpio list shows "-".
 */
void
gpio_levels(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	bool first = true;

	(void)argc;
	(void)argv;
	gpio_api->reply_ok(ctx, "%s", "");
	for (unsigned i = 0; i < st->nlines; i++) {
		int v = -2;

		if (gpio_line_lock(ctx, st, i) == -1)
			return;
		if (st->lines[i].held != HOLD_NONE &&
		    (v = st->be->ops->get(st->be, i)) == -1) {
			gpio_device_error(ctx, st, i, errno);
			gpio_line_unlock(st, i);
			return;
		}
		gpio_line_unlock(st, i);
		if (v < 0)
			continue;
		gpio_api->reply_append(ctx, "%s%u:%d", first ? "" : " ", i, v);
		first = false;
	}
}

/*
 * gpio pull <line> pull-up|pull-down|no-pull: a line picmd holds keeps
 * what it is - an output its level (and its PWM), a watched input its
 * watch - with the new bias; any other line becomes an input of picmd's
 * with that bias, as after gpio mode <line> in <pull>.
 */
void
gpio_pull(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	struct gpio_backend *be = st->be;
	struct gpio_line *ln;
	enum gpio_bias bias;
	unsigned off;
	int rc;

	(void)argc;
	if (gpio_parse_line(ctx, st, argv[0], &off) == -1 ||
	    gpio_parse_pull(ctx, argv[1], &bias) == -1 ||
	    gpio_line_lock(ctx, st, off) == -1)
		return;
	ln = &st->lines[off];
	/* Reconfigured in place: a held line is never let go meanwhile. */
	if (ln->held == HOLD_OUT)
		rc = be->ops->request_output(be, off, bias, ln->value);
	else if (ln->watch != WATCH_NONE)
		rc = gpio_watch_rebias(st, off, bias);
	else
		rc = be->ops->request_input(be, off, bias);
	if (rc == -1) {
		gpio_device_error(ctx, st, off, errno);
	} else {
		if (ln->held == HOLD_NONE)
			ln->held = HOLD_IN;
		ln->bias = bias;
	}
	gpio_line_unlock(st, off);
}
