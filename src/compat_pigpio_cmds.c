/*
 * What each pigpio command becomes: picmd command lines for the gpio,
 * pwm, spi and i2c plugins, or a result the front-end knows itself
 * (TICK, HWVER, the PWM settings pigpiod keeps per GPIO).  Arguments
 * are checked here first, with pigpio's own error codes, so a client
 * gets the result pigpiod would have given; everything that reaches
 * the hardware goes through the dispatch table like a text request.
 * docs/PIGPIO.md lists the mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_pigpio_priv.h"
#include "conn_priv.h"
#include "log.h"

#define BIT(g)	(1ULL << (g))

/* pigpio's PWM frequencies at its default 5 us sample rate; its real
 * range at each is 200000 / frequency. */
static const uint32_t pwm_freqs[] = { 8000, 4000, 2000, 1600, 1000, 800,
    500, 400, 320, 250, 200, 160, 100, 80, 50, 40, 20, 10 };

static uint32_t
nearest_freq(uint32_t want)
{
	uint32_t best = pwm_freqs[0];

	for (size_t i = 0; i < sizeof(pwm_freqs) / sizeof(pwm_freqs[0]); i++) {
		uint32_t f = pwm_freqs[i];
		uint32_t d = f > want ? f - want : want - f;
		uint32_t bd = best > want ? best - want : want - best;

		if (d < bd)
			best = f;
	}
	return best;
}

static uint32_t
ext_u32(const struct pg_req *q, const uint8_t *ext)
{
	if (q->w[3] < 4)
		return 0;
	return (uint32_t)ext[0] | (uint32_t)ext[1] << 8 |
	    (uint32_t)ext[2] << 16 | (uint32_t)ext[3] << 24;
}

/* ---- checks, each setting pigpio's result when it fails ---- */

static bool
bad_gpio(struct pg_req *q, unsigned max)
{
	if (q->w[1] <= max)
		return false;
	q->result = max == PG_MAX_USER_GPIO ? PG_BAD_USER_GPIO : PG_BAD_GPIO;
	return true;
}

static bool
denied(const struct pigpio_state *ps, struct pg_req *q, unsigned g)
{
	if (ps->pins & BIT(g))
		return false;
	q->result = PG_NOT_PERMITTED;
	return true;
}

static const struct pigpio_hwpwm *
hw_of(const struct pigpio_state *ps, unsigned g)
{
	for (int i = 0; i < ps->nhwpwm; i++)
		if (ps->hwpwm[i].gpio == g)
			return &ps->hwpwm[i];
	return NULL;
}

/* ---- steps shared by the commands that change a line ---- */

/* A line watched for a notification stream is an input: one that is to
 * be driven stops being watched first (gpio watch refuses outputs). */
static void
unwatch_first(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    unsigned g)
{
	if (!(ps->watching & BIT(g)))
		return;
	ps->watching &= ~BIT(g);
	pg_run_quiet(c, q, "gpio unwatch %u", g);
}

/* A hardware PWM channel keeps running whatever the line does: stop it
 * before the line is written or set up again. */
static void
stop_hw(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    unsigned g)
{
	const struct pigpio_hwpwm *hw = hw_of(ps, g);

	if (hw == NULL || !ps->gpio[g].hw)
		return;
	ps->gpio[g].hw = false;
	pg_run_quiet(c, q, "pwm off %u %u", hw->chip, hw->channel);
}

/* Drive g at freq with pct percent high: its PWM channel when it has
 * one ([pigpio] hardware_pwm), else the gpio plugin's software PWM. */
static void
run_pwm(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    unsigned g, uint32_t freq, double pct)
{
	const struct pigpio_hwpwm *hw = hw_of(ps, g);

	if (hw != NULL) {
		unsigned long long period = 1000000000ULL / freq;

		ps->gpio[g].hw = true;
		pg_run(c, q, "pwm set %u %u %llu %llu", hw->chip, hw->channel,
		    period, (unsigned long long)((double)period * pct / 100));
	} else
		pg_run(c, q, "gpio pwm %u %u %.4f", g, freq, pct);
}

/* The last line's OK: the one whose payload is the answer. */
static bool
last(const struct pg_req *q, unsigned part)
{
	return part + 1 == q->parts;
}

/* The line is a plain input or output again: no PWM, no servo. */
static void
ok_plain(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	(void)payload;
	if (!last(q, part))
		return;
	ps->gpio[q->w[1]].pwm = ps->gpio[q->w[1]].servo = false;
}

/* ---- basic GPIO ---- */

static void
start_modes(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1], mode = q->w[2];

	(void)ext;
	if (bad_gpio(q, PG_MAX_GPIO))
		return;
	if (mode > 7) {
		q->result = PG_BAD_MODE;
		return;
	}
	if (denied(ps, q, g))
		return;
	if (mode > 1) {
		if (!ps->alt_logged)
			log_warnx("pigpio %s: alternate functions (mode %u) are "
			    "set by the device tree (dtoverlay), not over the "
			    "network: answered PI_NOT_PERMITTED (logged once)",
			    c->peer, mode);
		ps->alt_logged = true;
		q->result = PG_NOT_PERMITTED;
		return;
	}
	if (mode == 0 && (ps->watching & BIT(g)))
		return;		/* watched: an input already */
	stop_hw(ps, c, q, g);
	if (mode == 1)
		unwatch_first(ps, c, q, g);
	pg_run(c, q, "gpio mode %u %s", g, mode ? "out" : "in");
}

static void
start_modeg(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)ps;
	(void)ext;
	if (!bad_gpio(q, PG_MAX_GPIO))
		pg_run(c, q, "gpio info %u", q->w[1]);
}

static void
ok_modeg(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	(void)ps;
	(void)part;
	q->result = strstr(payload, "direction=out") != NULL ? 1 : 0;
}

static void
start_pud(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	static const char *const pulls[] = { "no-pull", "pull-down", "pull-up" };

	(void)ext;
	if (bad_gpio(q, PG_MAX_GPIO))
		return;
	if (q->w[2] > 2) {
		q->result = PG_BAD_PUD;
		return;
	}
	if (!denied(ps, q, q->w[1]))
		pg_run(c, q, "gpio pull %u %s", q->w[1], pulls[q->w[2]]);
}

static void
start_read(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)ps;
	(void)ext;
	if (!bad_gpio(q, PG_MAX_GPIO))
		pg_run(c, q, "gpio read %u", q->w[1]);
}

static void
ok_read(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	(void)ps;
	(void)part;
	q->result = payload[0] == '1';
}

static void
start_write(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1];

	(void)ext;
	if (bad_gpio(q, PG_MAX_GPIO))
		return;
	if (q->w[2] > 1) {
		q->result = PG_BAD_LEVEL;
		return;
	}
	if (denied(ps, q, g))
		return;
	stop_hw(ps, c, q, g);
	unwatch_first(ps, c, q, g);
	pg_run(c, q, "gpio write %u %u", g, q->w[2]);
}

/* BR1 and BR2: the levels of the lines picmd holds.  Reading the others
 * would mean requesting them, which on a Pi can take a pin away from
 * its alternate function (I2C, UART); they read as 0. */
static void
start_bank_read(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)ps;
	(void)ext;
	pg_run(c, q, "gpio levels");
}

static void
ok_bank_read(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	unsigned base = q->w[0] == PG_BR1 ? 0 : 32;
	uint32_t bits = 0;
	const char *p = payload;

	(void)part;
	while (*p != '\0') {
		char *end;
		unsigned long g = strtoul(p, &end, 10);

		if (*end != ':')
			break;
		if (g >= base && g < base + 32 && end[1] == '1')
			bits |= 1u << (g - base);
		p = end + 1 + strcspn(end + 1, " ");
		p += strspn(p, " ");
	}
	q->result = (int32_t)bits;
	/* pigpio's notification thread learns the levels from a BR1 on
	 * its socket, before NOIB: its reports are compared with them. */
	if (q->w[0] == PG_BR1)
		pg_conn_set_view(q->conn, bits);
}

/* BC1, BS1, BC2, BS2: write every line of the mask; lines not in
 * [pigpio] pins are left alone and the result says so. */
static void
start_bank_write(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned base = q->w[0] == PG_BC1 || q->w[0] == PG_BS1 ? 0 : 32;
	unsigned level = q->w[0] == PG_BS1 || q->w[0] == PG_BS2;
	bool some = false;

	(void)ext;
	for (unsigned i = 0; i < 32; i++) {
		unsigned g = base + i;

		if (!(q->w[1] & (1u << i)) || g > PG_MAX_GPIO)
			continue;
		if (!(ps->pins & BIT(g))) {
			some = true;
			continue;
		}
		stop_hw(ps, c, q, g);
		unwatch_first(ps, c, q, g);
		ps->gpio[g].pwm = ps->gpio[g].servo = false;
		pg_run(c, q, "gpio write %u %u", g, level);
	}
	if (some)
		q->result = PG_SOME_PERMITTED;
}

/* ---- PWM and servo pulses ---- */

static void
start_pwm(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1];
	struct pg_gpio *pg = &ps->gpio[g];

	(void)ext;
	if (bad_gpio(q, PG_MAX_USER_GPIO) || denied(ps, q, g))
		return;
	if (q->w[2] > pg->range) {
		q->result = PG_BAD_DUTYCYCLE;
		return;
	}
	unwatch_first(ps, c, q, g);
	run_pwm(ps, c, q, g, pg->freq, 100.0 * q->w[2] / pg->range);
}

static void
ok_pwm(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	struct pg_gpio *pg = &ps->gpio[q->w[1]];

	(void)payload;
	if (!last(q, part))
		return;
	pg->duty = q->w[2];
	pg->pwm = true;
	pg->servo = false;
}

static void
start_prs(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1];
	struct pg_gpio *pg = &ps->gpio[g];

	(void)c;
	(void)ext;
	if (bad_gpio(q, PG_MAX_USER_GPIO) || denied(ps, q, g))
		return;
	if (q->w[2] < PG_MIN_RANGE || q->w[2] > PG_MAX_RANGE) {
		q->result = PG_BAD_DUTYRANGE;
		return;
	}
	/* The duty cycle keeps its fraction, as pigpiod scales it: the
	 * output does not change. */
	pg->duty = (uint32_t)((uint64_t)pg->duty * q->w[2] / pg->range);
	pg->range = q->w[2];
	q->result = (int32_t)(200000 / pg->freq);
}

static void
start_pfs(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1];
	struct pg_gpio *pg = &ps->gpio[g];

	(void)ext;
	if (bad_gpio(q, PG_MAX_USER_GPIO) || denied(ps, q, g))
		return;
	pg->freq = nearest_freq(q->w[2]);
	q->result = (int32_t)pg->freq;
	if (pg->pwm)
		run_pwm(ps, c, q, g, pg->freq, 100.0 * pg->duty / pg->range);
}

static void
start_servo(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1], us = q->w[2];
	const struct pigpio_hwpwm *hw = hw_of(ps, g);

	(void)ext;
	if (bad_gpio(q, PG_MAX_USER_GPIO) || denied(ps, q, g))
		return;
	if (us != 0 && (us < 500 || us > 2500)) {
		q->result = PG_BAD_PULSEWIDTH;
		return;
	}
	if (us == 0) {
		/* Pulses off; the line stays an output, low. */
		if (!ps->gpio[g].servo)
			return;
		if (hw != NULL)
			stop_hw(ps, c, q, g);
		else
			pg_run(c, q, "gpio pwm %u off", g);
		return;
	}
	unwatch_first(ps, c, q, g);
	run_pwm(ps, c, q, g, 50, us / 200.0);	/* of a 20 ms period */
}

static void
ok_servo(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	struct pg_gpio *pg = &ps->gpio[q->w[1]];

	(void)payload;
	if (!last(q, part))
		return;
	pg->servo = q->w[2] != 0;
	pg->servo_us = q->w[2];
	pg->pwm = false;
}

/* PRG, PFG, PRRG, GDC, GPW: pigpiod's settings, kept here. */
static void
start_pwm_get(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	const struct pg_gpio *pg = &ps->gpio[q->w[1] % (PG_MAX_GPIO + 1)];

	(void)c;
	(void)ext;
	if (bad_gpio(q, PG_MAX_USER_GPIO))
		return;
	switch (q->w[0]) {
	case PG_PRG:
		q->result = (int32_t)pg->range;
		break;
	case PG_PFG:
		q->result = (int32_t)pg->freq;
		break;
	case PG_PRRG:
		q->result = (int32_t)(200000 / pg->freq);
		break;
	case PG_GDC:
		q->result = pg->pwm ? (int32_t)pg->duty : PG_NOT_PWM_GPIO;
		break;
	case PG_GPW:
		q->result = pg->servo ? (int32_t)pg->servo_us :
		    PG_NOT_SERVO_GPIO;
		break;
	}
}

/* HP: hardware PWM, only on a GPIO listed in [pigpio] hardware_pwm. */
static void
start_hp(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1], freq = q->w[2];
	uint32_t duty = ext_u32(q, ext);
	const struct pigpio_hwpwm *hw;
	unsigned long long period;

	if (bad_gpio(q, PG_MAX_GPIO) || denied(ps, q, g))
		return;
	if ((hw = hw_of(ps, g)) == NULL) {
		q->result = PG_NOT_HPWM_GPIO;
		return;
	}
	if (freq > PG_HW_PWM_MAX_FREQ) {
		q->result = PG_BAD_HPWM_FREQ;
		return;
	}
	if (duty > PG_HW_PWM_RANGE) {
		q->result = PG_BAD_HPWM_DUTY;
		return;
	}
	ps->gpio[g].pwm = ps->gpio[g].servo = false;
	if (freq == 0) {
		ps->gpio[g].hw = false;
		pg_run(c, q, "pwm off %u %u", hw->chip, hw->channel);
		return;
	}
	unwatch_first(ps, c, q, g);
	ps->gpio[g].hw = true;
	period = 1000000000ULL / freq;
	pg_run(c, q, "pwm set %u %u %llu %llu", hw->chip, hw->channel, period,
	    period * duty / PG_HW_PWM_RANGE);
}

/* ---- what the front-end answers itself ---- */

static void
start_tick(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)ps;
	(void)c;
	(void)ext;
	q->result = (int32_t)pg_tick_now();
}

static void
start_hwver(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)c;
	(void)ext;
	q->result = (int32_t)ps->hwver;
}

static void
start_pigpv(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)ps;
	(void)c;
	(void)ext;
	q->result = PG_VERSION;
}

/* ---- notifications: NOIB, NB, NP, NC; FG ---- */

static uint32_t
monitored(const struct pigpio_state *ps)
{
	uint32_t all = 0;

	for (int h = 0; h < PG_NOTIFY_SLOTS; h++)
		if (ps->notify[h].c != NULL)
			all |= ps->notify[h].bits;
	return all;
}

/* Watches the front-end started for lines no stream reports any more. */
static void
unwatch_unmonitored(struct pigpio_state *ps, struct conn *c, struct pg_req *q)
{
	uint64_t gone = ps->watching & ~(uint64_t)monitored(ps);

	for (unsigned g = 0; g < 32; g++)
		if (gone & BIT(g))
			unwatch_first(ps, c, q, g);
}

static void
run_watch(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    unsigned g)
{
	unsigned ms = (ps->gpio[g].filter_us + 999) / 1000;

	if (ms > 0)
		pg_run(c, q, "gpio watch %u both %u", g, ms);
	else
		pg_run(c, q, "gpio watch %u both", g);
}

static struct pg_notify *
notify_of(struct pigpio_state *ps, struct pg_req *q)
{
	if (q->w[1] >= PG_NOTIFY_SLOTS || ps->notify[q->w[1]].c == NULL) {
		q->result = PG_BAD_HANDLE;
		return NULL;
	}
	return &ps->notify[q->w[1]];
}

static void
follow_bits(struct pg_notify *n, uint32_t bits, bool on)
{
	for (unsigned g = 0; g < 32; g++)
		if (bits & (1u << g))
			pg_follow(n->c, g, on);
}

static void
start_noib(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	(void)ext;
	if ((q->result = pg_conn_notify(c)) >= 0)
		return;
	for (int h = 0; h < PG_NOTIFY_SLOTS; h++) {
		if (ps->notify[h].c != NULL)
			continue;
		memset(&ps->notify[h], 0, sizeof(ps->notify[h]));
		ps->notify[h].c = c;
		pg_conn_set_notify(c, h);
		q->result = h;
		return;
	}
	q->result = PG_NO_HANDLE;
}

static void
start_nb(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_notify *n;
	uint32_t bits = q->w[2], want;

	(void)ext;
	if ((n = notify_of(ps, q)) == NULL)
		return;
	/* Watching a line requests it as an input: only lines the
	 * front-end may change, or that it watches already. */
	want = bits & ~n->bits & ~(uint32_t)ps->watching;
	if ((want & (uint32_t)ps->pins) != want) {
		q->result = PG_NOT_PERMITTED;
		return;
	}
	if (!n->paused)
		follow_bits(n, n->bits & ~bits, false);
	follow_bits(n, n->paused ? bits : bits & ~n->bits, true);
	n->bits = bits;
	n->paused = false;
	want = bits & ~(uint32_t)ps->watching;
	q->arg = want;
	for (unsigned g = 0; g < 32; g++)
		if (want & (1u << g)) {
			ps->watching |= BIT(g);
			run_watch(ps, c, q, g);
		}
	unwatch_unmonitored(ps, c, q);
}

/* Each new watch answers the line's level: the streams that report it
 * tell their clients if they do not know it. */
static void
ok_nb(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	unsigned i = 0, g;

	for (g = 0; g < 32; g++)
		if ((q->arg & BIT(g)) && i++ == part)
			break;
	if (g == 32)
		return;		/* an unwatch's OK */
	for (int h = 0; h < PG_NOTIFY_SLOTS; h++) {
		const struct pg_notify *n = &ps->notify[h];

		if (n->c != NULL && !n->paused && (n->bits & (1u << g)))
			pg_sync_level(n->c, g, payload[0] == '1');
	}
}

static void
start_np(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_notify *n;

	(void)c;
	(void)ext;
	if ((n = notify_of(ps, q)) == NULL)
		return;
	if (!n->paused)
		follow_bits(n, n->bits, false);
	n->paused = true;
}

static void
start_nc(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_notify *n;

	(void)ext;
	if ((n = notify_of(ps, q)) == NULL)
		return;
	if (!n->paused)
		follow_bits(n, n->bits, false);
	pg_conn_set_notify(n->c, -1);
	memset(n, 0, sizeof(*n));
	unwatch_unmonitored(ps, c, q);
}

/* FG: pigpio's glitch filter is the watch's debounce (whole ms). */
static void
start_fg(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	unsigned g = q->w[1];

	(void)ext;
	if (bad_gpio(q, PG_MAX_USER_GPIO))
		return;
	if (q->w[2] > PG_MAX_STEADY_US) {
		q->result = PG_BAD_FILTER;
		return;
	}
	ps->gpio[g].filter_us = q->w[2];
	if (ps->watching & BIT(g))
		run_watch(ps, c, q, g);
}

/* ---- SPI and I2C handles ---- */

/* Hex words of bytes for a command line; NULL when out of memory. */
static char *
hex_of(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * n] = '\0';
	return s;
}

/* "1f 02 a0" into q's result bytes; the result is their count. */
static void
ok_bytes(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	const char *p = payload;

	(void)ps;
	if (!last(q, part))
		return;
	strbuf_reset(&q->data);
	while (*p != '\0') {
		char *end;
		unsigned long v = strtoul(p, &end, 16);

		if (end == p)
			break;
		strbuf_addc(&q->data, (char)v);
		p = end + strspn(end, " ");
	}
	q->result = (int32_t)q->data.len;
}

/* The table of q's kind: SPI for SPIO, SPIC, SPIX, else I2C. */
static struct pg_handle *
table_of(struct pigpio_state *ps, const struct pg_req *q, unsigned *n)
{
	bool spi = q->w[0] == PG_SPIO || q->w[0] == PG_SPIC ||
	    q->w[0] == PG_SPIX;

	*n = spi ? PG_SPI_SLOTS : PG_I2C_SLOTS;
	return spi ? ps->spi : ps->i2c;
}

/* A free handle, taken; NULL (q answered PI_NO_HANDLE) when none is. */
static struct pg_handle *
handle_new(struct pigpio_state *ps, struct pg_req *q)
{
	unsigned n;
	struct pg_handle *t = table_of(ps, q, &n);

	for (unsigned h = 0; h < n; h++) {
		if (t[h].open)
			continue;
		memset(&t[h], 0, sizeof(t[h]));
		t[h].open = true;
		q->result = (int32_t)h;
		q->arg = h;
		return &t[h];
	}
	q->result = PG_NO_HANDLE;
	return NULL;
}

/* The open handle p1 names; NULL (q answered PI_BAD_HANDLE) if none. */
static struct pg_handle *
handle_of(struct pigpio_state *ps, struct pg_req *q)
{
	unsigned n;
	struct pg_handle *t = table_of(ps, q, &n);

	if (q->w[1] >= n || !t[q->w[1]].open) {
		q->result = PG_BAD_HANDLE;
		return NULL;
	}
	return &t[q->w[1]];
}

/* SPIO or I2CO failed after all: give its handle back. */
static void
open_failed(struct pigpio_state *ps, struct pg_req *q)
{
	unsigned n;

	table_of(ps, q, &n)[q->arg].open = false;
}

/* SPIC, I2CC */
static void
start_close(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_handle *d;

	(void)c;
	(void)ext;
	if ((d = handle_of(ps, q)) != NULL)
		d->open = false;
}

/* Whether the space-separated list holds a word starting with want
 * (followed by end, or by the word's end when end is NUL). */
static bool
listed(const char *list, const char *want, char end)
{
	size_t n = strlen(want);

	for (const char *p = list; (p = strstr(p, want)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (end != '\0' ? p[n] == end :
		    p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* pigpiod opens the device at SPIO and I2CO: picmd checks that it exists
 * (spi devices, i2c buses), so a missing one fails there too. */
static void
ok_open(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	unsigned n;
	const struct pg_handle *d = &table_of(ps, q, &n)[q->arg];
	char want[24];
	bool spi = q->w[0] == PG_SPIO;

	(void)part;
	if (spi)
		snprintf(want, sizeof(want), "%u.%u", d->bus, d->dev);
	else
		snprintf(want, sizeof(want), "%u", d->bus);
	if (listed(payload, want, spi ? '\0' : ':'))
		return;
	open_failed(ps, q);
	q->result = spi ? PG_SPI_OPEN_FAILED : PG_I2C_OPEN_FAILED;
}

static void
start_spio(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	uint32_t flags = ext_u32(q, ext);
	unsigned aux = flags >> 8 & 1;
	struct pg_handle *d;

	if (q->w[1] > (aux ? 2u : 1u)) {
		q->result = PG_BAD_SPI_CHANNEL;
		return;
	}
	if (q->w[2] < 32000 || q->w[2] > 125000000) {
		q->result = PG_BAD_SPI_SPEED;
		return;
	}
	if ((d = handle_new(ps, q)) == NULL)
		return;
	d->bus = aux;
	d->dev = q->w[1];
	d->baud = q->w[2];
	d->mode = flags & 3;
	pg_run(c, q, "spi devices");
}

static void
start_spix(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_handle *d;
	char *hex;

	if ((d = handle_of(ps, q)) == NULL)
		return;
	if (q->w[3] == 0 || q->w[3] > 4096) {
		q->result = PG_BAD_SPI_COUNT;
		return;
	}
	if ((hex = hex_of(ext, q->w[3])) == NULL) {
		q->result = PG_NO_MEMORY;
		return;
	}
	pg_run(c, q, "spi xfer %u.%u speed=%u mode=%u %s", d->bus, d->dev,
	    d->baud, d->mode, hex);
	free(hex);
}

static void
start_i2co(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_handle *d;

	(void)ext;
	if (q->w[2] > 0x7f) {
		q->result = PG_BAD_I2C_ADDR;
		return;
	}
	if ((d = handle_new(ps, q)) == NULL)
		return;
	d->bus = q->w[1];
	d->dev = q->w[2];
	pg_run(c, q, "i2c buses");
}

static void
start_i2crd(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_handle *d;

	(void)ext;
	if ((d = handle_of(ps, q)) == NULL)
		return;
	if (q->w[2] == 0 || q->w[2] > 255) {
		q->result = PG_BAD_PARAM;
		return;
	}
	pg_run(c, q, "i2c read %u %#x %u", d->bus, d->dev, q->w[2]);
}

static void
start_i2cwd(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_handle *d;
	char *hex;

	if ((d = handle_of(ps, q)) == NULL)
		return;
	if (q->w[3] == 0) {
		q->result = PG_BAD_PARAM;
		return;
	}
	if ((hex = hex_of(ext, q->w[3])) == NULL) {
		q->result = PG_NO_MEMORY;
		return;
	}
	pg_run(c, q, "i2c write %u %#x %s", d->bus, d->dev, hex);
	free(hex);
}

static void
start_i2crb(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	struct pg_handle *d;

	(void)ext;
	if ((d = handle_of(ps, q)) == NULL)
		return;
	if (q->w[2] > 255) {
		q->result = PG_BAD_PARAM;
		return;
	}
	pg_run(c, q, "i2c readreg %u %#x %u", d->bus, d->dev, q->w[2]);
}

static void
ok_i2crb(struct pigpio_state *ps, struct pg_req *q, unsigned part,
    const char *payload)
{
	(void)ps;
	(void)part;
	q->result = (int32_t)strtoul(payload, NULL, 16);
}

static void
start_i2cwb(struct pigpio_state *ps, struct conn *c, struct pg_req *q,
    const uint8_t *ext)
{
	uint32_t byte = ext_u32(q, ext);
	struct pg_handle *d;

	if ((d = handle_of(ps, q)) == NULL)
		return;
	if (q->w[2] > 255 || byte > 255) {
		q->result = PG_BAD_PARAM;
		return;
	}
	pg_run(c, q, "i2c writereg %u %#x %u %02x", d->bus, d->dev, q->w[2],
	    byte);
}

/* ---- the table ---- */

static const struct pg_def defs[PG_NCOMMANDS] = {
	[PG_MODES] = { start_modes, ok_plain, NULL, PG_BAD_GPIO, false },
	[PG_MODEG] = { start_modeg, ok_modeg, NULL, PG_BAD_GPIO, false },
	[PG_PUD] = { start_pud, NULL, NULL, PG_BAD_GPIO, false },
	[PG_READ] = { start_read, ok_read, NULL, PG_BAD_GPIO, false },
	[PG_WRITE] = { start_write, ok_plain, NULL, PG_BAD_GPIO, false },
	[PG_PWM] = { start_pwm, ok_pwm, NULL, PG_BAD_USER_GPIO, false },
	[PG_PRS] = { start_prs, NULL, NULL, PG_BAD_USER_GPIO, false },
	[PG_PFS] = { start_pfs, NULL, NULL, PG_BAD_USER_GPIO, false },
	[PG_SERVO] = { start_servo, ok_servo, NULL, PG_BAD_USER_GPIO, false },
	[PG_BR1] = { start_bank_read, ok_bank_read, NULL, PG_BAD_GPIO, false },
	[PG_BR2] = { start_bank_read, ok_bank_read, NULL, PG_BAD_GPIO, false },
	[PG_BC1] = { start_bank_write, NULL, NULL, PG_BAD_GPIO, false },
	[PG_BC2] = { start_bank_write, NULL, NULL, PG_BAD_GPIO, false },
	[PG_BS1] = { start_bank_write, NULL, NULL, PG_BAD_GPIO, false },
	[PG_BS2] = { start_bank_write, NULL, NULL, PG_BAD_GPIO, false },
	[PG_TICK] = { start_tick, NULL, NULL, 0, false },
	[PG_HWVER] = { start_hwver, NULL, NULL, 0, false },
	[PG_NB] = { start_nb, ok_nb, NULL, PG_BAD_GPIO, false },
	[PG_NP] = { start_np, NULL, NULL, PG_BAD_HANDLE, false },
	[PG_NC] = { start_nc, NULL, NULL, PG_BAD_HANDLE, false },
	[PG_PRG] = { start_pwm_get, NULL, NULL, 0, false },
	[PG_PFG] = { start_pwm_get, NULL, NULL, 0, false },
	[PG_PRRG] = { start_pwm_get, NULL, NULL, 0, false },
	[PG_PIGPV] = { start_pigpv, NULL, NULL, 0, false },
	[PG_I2CO] = { start_i2co, ok_open, open_failed, PG_I2C_OPEN_FAILED,
	    false },
	[PG_I2CC] = { start_close, NULL, NULL, PG_BAD_HANDLE, false },
	[PG_I2CRD] = { start_i2crd, ok_bytes, NULL, PG_I2C_READ_FAILED, true },
	[PG_I2CWD] = { start_i2cwd, NULL, NULL, PG_I2C_WRITE_FAILED, false },
	[PG_I2CRB] = { start_i2crb, ok_i2crb, NULL, PG_I2C_READ_FAILED, false },
	[PG_I2CWB] = { start_i2cwb, NULL, NULL, PG_I2C_WRITE_FAILED, false },
	[PG_SPIO] = { start_spio, ok_open, open_failed, PG_SPI_OPEN_FAILED,
	    false },
	[PG_SPIC] = { start_close, NULL, NULL, PG_BAD_HANDLE, false },
	[PG_SPIX] = { start_spix, ok_bytes, NULL, PG_SPI_XFER_FAILED, true },
	[PG_GDC] = { start_pwm_get, NULL, NULL, 0, false },
	[PG_GPW] = { start_pwm_get, NULL, NULL, 0, false },
	[PG_HP] = { start_hp, NULL, NULL, PG_BAD_HPWM_FREQ, false },
	[PG_FG] = { start_fg, NULL, NULL, PG_BAD_FILTER, false },
	[PG_NOIB] = { start_noib, NULL, NULL, PG_NO_HANDLE, false },
};

const struct pg_def *
pg_def_of(uint32_t cmd)
{
	if (cmd >= PG_NCOMMANDS || defs[cmd].start == NULL)
		return NULL;
	return &defs[cmd];
}
