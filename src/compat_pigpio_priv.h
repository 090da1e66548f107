/*
 * Inside the pigpio front-end, shared by compat_pigpio.c (framing,
 * replies, notification streams, the connection's life) and
 * compat_pigpio_cmds.c (what each pigpio command becomes).  Loop thread.
 */
#ifndef PICMD_COMPAT_PIGPIO_PRIV_H
#define PICMD_COMPAT_PIGPIO_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "compat_pigpio.h"
#include "picmd/plugin.h"
#include "pigpio_wire.h"
#include "strbuf.h"

struct conn;
struct pg_req;
struct pigpio_state;

/*
 * One pigpio command: start() turns the request into picmd command
 * lines (pg_run) or decides its result at once (q->result); ok() sees
 * the payload of each command that succeeded; err is the result for a
 * picmd ERR ARGS or DEVICE that says nothing more specific.
 */
struct pg_def {
	void	(*start)(struct pigpio_state *ps, struct conn *c,
		    struct pg_req *q, const uint8_t *ext);
	void	(*ok)(struct pigpio_state *ps, struct pg_req *q,
		    unsigned part, const char *payload);
	void	(*failed)(struct pigpio_state *ps, struct pg_req *q);
	int32_t	 err;
	bool	 data;		/* result bytes follow the response */
};

/* A request taken in, waiting for the replies of its command lines. */
struct pg_req {
	uint32_t		 w[4];		/* cmd, p1, p2, p3 */
	struct conn		*conn;		/* whose request it is */
	const struct pg_def	*def;
	uint32_t		 parts;		/* command lines run */
	uint32_t		 seen;		/* of their replies */
	uint64_t		 quiet;		/* parts whose errors do not count */
	bool			 building;	/* start() still adding lines */
	bool			 failed;
	int32_t			 result;
	uint64_t		 arg;		/* the command's own note */
	struct strbuf		 data;		/* bytes after the response */
};

/* pigpio's per-GPIO PWM and servo settings: pigpiod keeps them per
 * daemon, not per client, and so does the front-end. */
struct pg_gpio {
	uint32_t	 range;
	uint32_t	 freq;
	uint32_t	 duty;		/* of range, while pwm */
	uint32_t	 servo_us;	/* while servo */
	uint32_t	 filter_us;	/* FG: debounce of its watch */
	bool		 pwm;
	bool		 servo;
	bool		 hw;		/* its PWM channel is running */
};

struct pg_notify {
	struct conn	*c;		/* the stream, or NULL: free */
	uint32_t	 bits;		/* NB: lines 0-31 reported */
	bool		 paused;	/* NP */
};

/* An SPI device (bus, cs, baud, mode) or an I2C one (bus, addr in dev).
 * Handles outlive the connection that opened them, as in pigpiod: pigs
 * opens a connection per command ("pigs spio ..." then "pigs spix H"). */
struct pg_handle {
	bool		 open;
	unsigned	 bus, dev, baud, mode;
};

struct pigpio_state {
	struct server		*srv;
	struct pigpio_config	*cfg;		/* the one it started with */
	struct pg_gpio		 gpio[PG_MAX_GPIO + 1];
	struct pg_notify	 notify[PG_NOTIFY_SLOTS];
	struct pg_handle	 spi[PG_SPI_SLOTS];
	struct pg_handle	 i2c[PG_I2C_SLOTS];
	uint64_t		 watching;	/* lines watched for NB */
	uint64_t		 pins;		/* [pigpio] pins */
	uint32_t		 hwver;
	struct pigpio_hwpwm	*hwpwm;
	int			 nhwpwm;
	uint8_t			 unknown_logged[PG_NCOMMANDS / 8];
	bool			 big_unknown_logged;
	bool			 alt_logged;
};

/* compat_pigpio_cmds.c: the table, NULL for a number it cannot do. */
const struct pg_def *pg_def_of(uint32_t cmd);

/* compat_pigpio.c, for the commands */
/* Run the command line fmt makes (words split on spaces) for q; its
 * reply counts towards q's result.  pg_run_quiet: its error does not. */
void	pg_run(struct conn *c, struct pg_req *q, const char *fmt, ...)
	    PICMD_PRINTF(3, 4);
void	pg_run_quiet(struct conn *c, struct pg_req *q, const char *fmt, ...)
	    PICMD_PRINTF(3, 4);
/* Subscribe or unsubscribe a notification stream to line g's edges. */
void	pg_follow(struct conn *stream, unsigned g, bool on);
/* The pigpio connection's own notification handle, or -1. */
int	pg_conn_notify(struct conn *c);
void	pg_conn_set_notify(struct conn *c, int handle);
/* The levels of lines 0-31 a connection's client was told (BR1). */
void	pg_conn_set_view(struct conn *c, uint32_t levels);
/* Line g, newly reported by stream, is at level: tell its client if it
 * does not know. */
void	pg_sync_level(struct conn *stream, unsigned g, int level);
/* Microseconds of CLOCK_MONOTONIC, pigpio's wrapping 32-bit tick. */
uint32_t pg_tick_now(void);

#endif
