/*
 * gpio pwm: a software PWM on any line picmd can drive (docs/GPIO.md,
 * Software PWM), for the boards and pins that have no hardware PWM
 * channel and for pigpio clients that expect one on every pin.
 *
 * One thread serves every PWM line.  It sleeps on a condition variable
 * until the next edge due on any line (CLOCK_MONOTONIC, so a change of
 * the wall clock moves nothing), and commands that start, change or stop
 * a PWM signal it.  Edges follow an absolute schedule, each one period
 * after the same edge of the period before, so late wake-ups do not add
 * up to a drifting frequency; a line that fell more than a period behind
 * (a stopped process, a loaded machine) starts afresh from now instead
 * of racing through the edges it missed.
 *
 * Locking: commands hold the line's mutex (ln->mu) and take pwm->mu
 * inside it; the scheduling state below is under pwm->mu alone.  The
 * thread never waits for a line's mutex while it holds pwm->mu: it
 * collects the due lines, lets pwm->mu go, and for each line takes
 * ln->mu and then pwm->mu again, checking by the generation counter that
 * nobody changed or stopped that PWM meanwhile.  Every change to a line's
 * PWM is made with ln->mu held, so holding ln->mu is enough to drive the
 * line; pwm->mu is let go before the backend call, and commands on other
 * lines never wait for one.  The thread only tries ln->mu: a command may
 * hold it for a long time (a pulse, a minute), and waiting for it would
 * stall the edges of every other line.  Such a command stops this line's
 * PWM first anyway, and a short one (a read) is retried a moment later.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gpio.h"

/* hz and duty are kept in ten-thousandths: exact for what the wire takes. */
#define PWM_DECIMALS	4
#define PWM_SCALE	10000LL
#define PWM_HZ_MIN	(PWM_SCALE / 10)	/* 0.1 Hz */
#define PWM_HZ_MAX	(10000 * PWM_SCALE)
#define PWM_DUTY_MAX	(100 * PWM_SCALE)
/* How soon to try again a line whose mutex a command holds. */
#define PWM_RETRY_NS	50000LL

/* One line's PWM.  Under pwm->mu; changed only with ln->mu held too. */
struct pwm_line {
	bool		 on;
	unsigned	 gen;		/* bumped at every start, change, stop */
	long long	 hz;		/* in 1/PWM_SCALE Hz */
	long long	 duty;		/* in 1/PWM_SCALE percent */
	long long	 period_ns;
	long long	 high_ns;
	long long	 cycle_ns;	/* when the current period began */
	long long	 next_ns;	/* the next edge; 0: a steady level */
	int		 level;		/* what the line is driven to */
};

struct gpio_pwm {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	pthread_t	 thread;
	bool		 started;
	bool		 stop;		/* fini: the thread returns */
	struct pwm_line	*lines;		/* st->nlines of them */
	/* The thread's own: the lines due in one pass, and their gen. */
	unsigned	*due;
	unsigned	*due_gen;
};

/* Wait on the condition variable until the monotonic time t (locked). */
static void
wait_until(struct gpio_pwm *pw, long long t)
{
	struct timespec ts;

	if (t == LLONG_MAX) {
		pthread_cond_wait(&pw->cv, &pw->mu);
		return;
	}
	ts.tv_sec = (time_t)(t / 1000000000LL);
	ts.tv_nsec = (long)(t % 1000000000LL);
	pthread_cond_timedwait(&pw->cv, &pw->mu, &ts);
}

/*
 * Make the edge that was due at p->next_ns, now, and schedule the next.
 * A falling edge ends the high part of the period; a rising one begins
 * the next period exactly one period after the last began, unless the
 * line is more than a period late: then the schedule restarts from now.
 */
static void
pwm_advance(struct pwm_line *p, long long now)
{
	if (p->level) {
		p->level = 0;
		if (now - p->next_ns > p->period_ns)
			p->cycle_ns = now - p->high_ns;
	} else {
		p->level = 1;
		p->cycle_ns = p->next_ns;
		if (now - p->cycle_ns > p->period_ns)
			p->cycle_ns = now;
	}
	p->next_ns = p->cycle_ns + (p->level ? p->high_ns : p->period_ns);
}

/*
 * Drive the edge due on line off, if its PWM is still the one (gen) the
 * thread saw due.  false when a command holds the line: try again soon.
 */
static bool
pwm_edge(struct gpio_state *st, unsigned off, unsigned gen)
{
	struct gpio_pwm *pw = st->pwm;
	struct gpio_line *ln = &st->lines[off];
	struct pwm_line *p = &pw->lines[off];
	long long now;
	int level;

	if (pthread_mutex_trylock(&ln->mu) != 0)
		return false;
	pthread_mutex_lock(&pw->mu);
	now = gpio_mono_ns();
	if (!p->on || p->gen != gen || p->next_ns == 0 || p->next_ns > now) {
		pthread_mutex_unlock(&pw->mu);
		pthread_mutex_unlock(&ln->mu);
		return true;
	}
	pwm_advance(p, now);
	level = p->level;
	pthread_mutex_unlock(&pw->mu);

	if (st->be->ops->set(st->be, off, level) == -1) {
		/* Once, not twice per period for as long as it fails. */
		gpio_api->log(PICMD_LOG_ERROR, "gpio: line %u: PWM stopped: "
		    "cannot drive the line: %s", off, strerror(errno));
		pthread_mutex_lock(&pw->mu);
		p->on = false;
		p->next_ns = 0;
		p->gen++;
		pthread_mutex_unlock(&pw->mu);
	} else {
		ln->value = level;
	}
	pthread_mutex_unlock(&ln->mu);
	return true;
}

/*
 * The PWM thread.  Started from a worker, so it inherits the workers'
 * mask: every signal blocked, as the daemon wants of its threads.
 */
static void *
pwm_main(void *arg)
{
	struct gpio_state *st = arg;
	struct gpio_pwm *pw = st->pwm;

	pthread_mutex_lock(&pw->mu);
	while (!pw->stop) {
		long long now = gpio_mono_ns(), wake = LLONG_MAX;
		unsigned n = 0;
		bool busy = false;

		for (unsigned i = 0; i < st->nlines; i++) {
			struct pwm_line *p = &pw->lines[i];

			if (!p->on || p->next_ns == 0)
				continue;
			if (p->next_ns <= now) {
				pw->due[n] = i;
				pw->due_gen[n++] = p->gen;
			} else if (p->next_ns < wake)
				wake = p->next_ns;
		}
		if (n == 0) {
			wait_until(pw, wake);
			continue;
		}
		pthread_mutex_unlock(&pw->mu);
		for (unsigned i = 0; i < n; i++)
			if (!pwm_edge(st, pw->due[i], pw->due_gen[i]))
				busy = true;
		pthread_mutex_lock(&pw->mu);
		if (busy && !pw->stop)
			wait_until(pw, gpio_mono_ns() + PWM_RETRY_NS);
	}
	pthread_mutex_unlock(&pw->mu);
	return NULL;
}

int
gpio_pwm_init(struct gpio_state *st)
{
	struct gpio_pwm *pw;
	pthread_condattr_t ca;

	if ((pw = calloc(1, sizeof(*pw))) == NULL)
		return -1;
	pw->lines = calloc(st->nlines, sizeof(*pw->lines));
	pw->due = calloc(st->nlines, sizeof(*pw->due));
	pw->due_gen = calloc(st->nlines, sizeof(*pw->due_gen));
	if (pw->lines == NULL || pw->due == NULL || pw->due_gen == NULL)
		goto fail;
	if (pthread_mutex_init(&pw->mu, NULL) != 0)
		goto fail;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_mu;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pw->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail_mu;
	}
	pthread_condattr_destroy(&ca);
	st->pwm = pw;
	return 0;
fail_mu:
	pthread_mutex_destroy(&pw->mu);
fail:
	free(pw->lines);
	free(pw->due);
	free(pw->due_gen);
	free(pw);
	return -1;
}

/* Before the backend closes: the thread drives lines through it. */
void
gpio_pwm_fini(struct gpio_state *st)
{
	struct gpio_pwm *pw = st->pwm;

	if (pw == NULL)
		return;
	if (pw->started) {
		pthread_mutex_lock(&pw->mu);
		pw->stop = true;
		pthread_cond_signal(&pw->cv);
		pthread_mutex_unlock(&pw->mu);
		pthread_join(pw->thread, NULL);
	}
	pthread_cond_destroy(&pw->cv);
	pthread_mutex_destroy(&pw->mu);
	free(pw->lines);
	free(pw->due);
	free(pw->due_gen);
	free(pw);
	st->pwm = NULL;
}

/* The first PWM that toggles starts the thread.  0, or an errno. */
static int
pwm_thread_start(struct gpio_state *st)
{
	struct gpio_pwm *pw = st->pwm;
	int err = 0;

	pthread_mutex_lock(&pw->mu);
	if (!pw->started) {
		err = pthread_create(&pw->thread, NULL, pwm_main, st);
		pw->started = err == 0;
	}
	pthread_mutex_unlock(&pw->mu);
	return err;
}

/*
 * End the line's PWM, if one runs, and leave the line at level (the
 * caller's next step usually sets a level of its own: starting from that
 * one avoids a glitch).  With the line locked.
 */
void
gpio_pwm_stop(struct gpio_state *st, unsigned off, int level)
{
	struct gpio_pwm *pw = st->pwm;
	struct pwm_line *p = &pw->lines[off];
	bool was;

	pthread_mutex_lock(&pw->mu);
	if ((was = p->on)) {
		p->on = false;
		p->next_ns = 0;
		p->gen++;
		pthread_cond_signal(&pw->cv);
	}
	pthread_mutex_unlock(&pw->mu);
	if (!was)
		return;
	if (st->be->ops->set(st->be, off, level) == -1)
		gpio_api->log(PICMD_LOG_WARN, "gpio: line %u: PWM stopped, but "
		    "setting the line to %d failed: %s", off, level,
		    strerror(errno));
	else
		st->lines[off].value = level;
}

/*
 * A decimal number with up to PWM_DECIMALS decimals ("800", "7.5",
 * "33.3333"), in 1/PWM_SCALE units, at most max.  Digits and one point
 * only: no sign, exponent or spaces, which strtod would take.
 */
static bool
parse_fixed(const char *s, long long max, long long *out)
{
	long long v = 0;
	int decimals = 0;
	bool point = false;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.' && !point) {
			point = true;
			continue;
		}
		if (*s < '0' || *s > '9' || (point && decimals == PWM_DECIMALS))
			return false;
		v = v * 10 + (*s - '0');
		if (point)
			decimals++;
		if (v > max)	/* before it could overflow */
			return false;
	}
	if (point && decimals == 0)
		return false;
	for (; decimals < PWM_DECIMALS; decimals++)
		if ((v *= 10) > max)
			return false;
	*out = v;
	return true;
}

/* v in 1/PWM_SCALE units, shortest: "800", "7.5", "33.3333". */
static const char *
format_fixed(char *buf, size_t size, long long v)
{
	long long frac = v % PWM_SCALE;
	int digits = PWM_DECIMALS;

	if (frac == 0) {
		snprintf(buf, size, "%lld", v / PWM_SCALE);
		return buf;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, size, "%lld.%0*lld", v / PWM_SCALE, digits, frac);
	return buf;
}

static void
pwm_query(picmd_ctx *ctx, struct gpio_state *st, unsigned off)
{
	struct gpio_pwm *pw = st->pwm;
	struct pwm_line p;
	char hz[32], duty[32];

	pthread_mutex_lock(&pw->mu);
	p = pw->lines[off];
	pthread_mutex_unlock(&pw->mu);
	if (!p.on)
		gpio_api->reply_ok(ctx, "off");
	else
		gpio_api->reply_ok(ctx, "hz=%s duty=%s",
		    format_fixed(hz, sizeof(hz), p.hz),
		    format_fixed(duty, sizeof(duty), p.duty));
}

/*
 * Start a PWM on the line, or change the one running in place: a line
 * that keeps toggling keeps the period it is in (the new duty or period
 * counts from that period's start), one that starts toggling begins a
 * period now, and duty 0 or 100 is a steady level with no edges at all.
 * With the line locked; replies.
 */
static void
pwm_set(picmd_ctx *ctx, struct gpio_state *st, unsigned off, long long hz,
    long long duty)
{
	struct gpio_pwm *pw = st->pwm;
	struct gpio_line *ln = &st->lines[off];
	struct pwm_line *p = &pw->lines[off];
	bool toggle = duty > 0 && duty < PWM_DUTY_MAX, in_place;
	long long now;
	int level, rc = 0;

	pthread_mutex_lock(&pw->mu);
	in_place = toggle && p->on && p->next_ns != 0;
	level = in_place ? p->level : duty > 0;
	pthread_mutex_unlock(&pw->mu);

	if (ln->held != HOLD_OUT)
		rc = st->be->ops->request_output(st->be, off, ln->bias, level);
	else if (!in_place)
		rc = st->be->ops->set(st->be, off, level);
	if (rc == -1) {
		gpio_device_error(ctx, st, off, errno);
		return;
	}
	ln->held = HOLD_OUT;
	ln->value = level;

	pthread_mutex_lock(&pw->mu);
	now = gpio_mono_ns();
	p->on = true;
	p->gen++;
	p->hz = hz;
	p->duty = duty;
	/* 1e9 ns * PWM_SCALE / hz; the duty has PWM_SCALE * 100 steps. */
	p->period_ns = (1000000000LL * PWM_SCALE + hz / 2) / hz;
	p->high_ns = p->period_ns * duty / PWM_DUTY_MAX;
	if (!in_place) {
		p->level = level;
		p->cycle_ns = now;
	}
	if (toggle)
		p->next_ns = p->cycle_ns + (p->level ? p->high_ns :
		    p->period_ns);
	else
		p->next_ns = 0;
	pthread_cond_signal(&pw->cv);
	pthread_mutex_unlock(&pw->mu);
	gpio_api->reply_ok(ctx, "%s", "");
}

/*
 * gpio pwm <line> <hz> <duty>   start or change
 * gpio pwm <line> off           stop, leaving the line low
 * gpio pwm <line>               "off" or "hz=800 duty=25"
 */
void
gpio_pwm(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct gpio_state *st = gpio_api->state(ctx);
	long long hz = 0, duty = 0;
	unsigned off;
	int err;

	if (gpio_parse_line(ctx, st, argv[0], &off) == -1)
		return;
	if (argc == 2 && strcasecmp(argv[1], "off") != 0) {
		gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "usage: gpio pwm "
		    "<line> [<hz> <duty>|off]");
		return;
	}
	if (argc == 3) {
		if (!parse_fixed(argv[1], PWM_HZ_MAX, &hz) || hz < PWM_HZ_MIN) {
			gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "frequency must "
			    "be 0.1 to 10000 Hz with up to %d decimals, not "
			    "'%s'", PWM_DECIMALS, argv[1]);
			return;
		}
		if (!parse_fixed(argv[2], PWM_DUTY_MAX, &duty)) {
			gpio_api->reply_error(ctx, PICMD_ERR_ARGS, "duty must be "
			    "0 to 100 (percent) with up to %d decimals, not "
			    "'%s'", PWM_DECIMALS, argv[2]);
			return;
		}
		if ((err = pwm_thread_start(st)) != 0) {
			gpio_api->reply_error(ctx, PICMD_ERR_INTERNAL, "cannot "
			    "start the PWM thread: %s", strerror(err));
			return;
		}
	}
	if (gpio_line_lock(ctx, st, off) == -1)
		return;
	if (argc == 1) {
		pwm_query(ctx, st, off);
	} else if (argc == 2) {
		gpio_pwm_stop(st, off, 0);
		gpio_api->reply_ok(ctx, "%s", "");
	} else if (gpio_refuse_if_watched(ctx, st, off) == 0) {
		pwm_set(ctx, st, off, hz, duty);
	}
	gpio_line_unlock(st, off);
}
