/*
 * The gpio plugin's own header: its state, shared by gpio.c (commands,
 * parsing, locking, config), watch.c (edges), softpwm.c (software PWM)
 * and held.c (levels and pulls of the lines picmd holds).  Not
 * installed.
 */
#ifndef PICMD_GPIO_PLUGIN_H
#define PICMD_GPIO_PLUGIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <picmd/plugin.h>

#include "backend.h"

enum hold {
	HOLD_NONE = 0,		/* not requested by picmd */
	HOLD_IN,
	HOLD_OUT,
};

/* Which edges of a watched input are published. */
enum watch_edges {
	WATCH_NONE = 0,
	WATCH_RISING = 1,
	WATCH_FALLING = 2,
	WATCH_BOTH = 3,
};

struct gpio_line {
	pthread_mutex_t	 mu;
	char		 name[GPIO_NAME_MAX];	/* read once: names are fixed */
	enum hold	 held;
	enum gpio_bias	 bias;		/* the pull picmd asked for */
	int		 value;		/* the level driven, when HOLD_OUT */
	enum watch_edges watch;		/* HOLD_IN lines only */
	unsigned	 debounce_ms;	/* done here: the backend cannot */
	unsigned	 debounce_asked;	/* ms, as gpio watch gave it */
	int		 level;		/* last level seen, when watched */
	long long	 last_edge_ns;	/* monotonic, of the last published */
	picmd_watch	*w;		/* chip backends: the daemon's watch */
	int		 wfd;		/* of the descriptor w watches */
	struct gpio_state *st;		/* back, for the watch's callback */
	unsigned	 off;
	uint64_t	 lease;		/* output bound to it, or 0 */
	long long	 seen_ns;	/* watched: last had a subscriber */
	int		 safe;		/* [gpio] safe.N: the level then */
};

struct gpio_pwm;			/* softpwm.c's own */

struct gpio_state {
	picmd_host		*host;		/* where edges are published */
	struct gpio_backend	*be;
	struct gpio_line	*lines;
	unsigned		 nlines;
	unsigned		 nmutexes;	/* initialised, for fini */
	bool			 leases;	/* the daemon has api->lease */
	unsigned		 watch_idle_s;	/* 0: watches never time out */
	pthread_mutex_t		 idle_mu;	/* starting the idle timer */
	int			 idle_tfd;	/* timerfd, -1 until a watch */
	picmd_watch		*idle_w;
	struct gpio_pwm		*pwm;		/* software PWM */
};

extern const struct picmd_api *gpio_api;

/* gpio.c: argument parsing and per-line locking.  Each answers the
 * request itself and returns -1 when it fails. */
int	gpio_parse_line(picmd_ctx *ctx, struct gpio_state *st, const char *arg,
	    unsigned *off);
int	gpio_parse_pull(picmd_ctx *ctx, const char *arg, enum gpio_bias *bias);
int	gpio_line_lock(picmd_ctx *ctx, struct gpio_state *st, unsigned off);
void	gpio_line_unlock(struct gpio_state *st, unsigned off);
/* A watched line is not driven: ERR BUSY (-1), or 0.  Locked. */
int	gpio_refuse_if_watched(picmd_ctx *ctx, struct gpio_state *st,
	    unsigned off);
/* "ERR DEVICE line N: <strerror> [(in use by X)]", with the line locked. */
void	gpio_device_error(picmd_ctx *ctx, struct gpio_state *st, unsigned off,
	    int err);

/* watch.c */
void	gpio_watch(picmd_ctx *ctx, int argc, const char *const *argv);
void	gpio_unwatch(picmd_ctx *ctx, int argc, const char *const *argv);
/* A watched line of the simulated chip may have changed its level:
 * publish the edge if the watch wants it.  With the line locked. */
void	gpio_publish_edge(struct gpio_state *st, unsigned off, int level);
/* End a line's watch before it is released (gpio release).  Locked. */
void	gpio_watch_end(struct gpio_state *st, unsigned off);
/* fini: the idle timer's descriptor (its watch is gone already). */
void	gpio_watch_fini(struct gpio_state *st);
/* register_topic's normalise for "gpio.": names and GPIO<n> to offsets. */
int	gpio_normalise_topic(void *state, const char *word, char *out,
	    size_t size);
/* CLOCK_MONOTONIC now, in ns. */
long long gpio_mono_ns(void);
/* gpio pull on a watched input: the same watch with another bias.
 * Locked; 0, or -1 with errno. */
int	gpio_watch_rebias(struct gpio_state *st, unsigned off,
	    enum gpio_bias bias);

/* softpwm.c */
int	gpio_pwm_init(struct gpio_state *st);
/* Stops the thread: before the backend closes. */
void	gpio_pwm_fini(struct gpio_state *st);
void	gpio_pwm(picmd_ctx *ctx, int argc, const char *const *argv);
/* End the line's PWM if it runs, leaving the line at level (what the
 * caller drives next, so there is no glitch).  Locked. */
void	gpio_pwm_stop(struct gpio_state *st, unsigned off, int level);

/* held.c */
void	gpio_levels(picmd_ctx *ctx, int argc, const char *const *argv);
void	gpio_pull(picmd_ctx *ctx, int argc, const char *const *argv);

#endif
