/*
 * The serial plugin's own header: its state, shared by serial.c
 * (commands, config), port.c (opening, hang-ups, waiting), watch.c
 * (lines as events) and the pure helpers of format.c.  Not installed.
 */
#ifndef PICMD_SERIAL_PLUGIN_H
#define PICMD_SERIAL_PLUGIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include <picmd/plugin.h>

#include "backend.h"

#define SERIAL_NAME_MAX		32	/* a port's name, a topic word */
#define SERIAL_BUF		4096	/* bytes received and not yet read */
/* Bytes of one line per readline reply or event: escaped (up to 4
 * characters a byte) with the "\+" of a piece it still fits in the
 * 1023 bytes of an event's payload. */
#define SERIAL_LINE_MAX		255
#define SERIAL_READ_DEFAULT	1024	/* serial read's max_bytes */
#define SERIAL_READ_MAX		SERIAL_BUF
#define SERIAL_TIMEOUT_DEFAULT	1000	/* ms, read and readline */
#define SERIAL_TIMEOUT_MAX	60000
/* Kept back from a command's deadline, to answer before the daemon
 * answers ERR TIMEOUT instead. */
#define SERIAL_MARGIN_MS	50
/* A watched port that hung up is tried again this often. */
#define SERIAL_RETRY_MS		1000

enum port_state {
	PORT_CLOSED = 0,	/* not opened yet */
	PORT_OPEN,
	PORT_GONE,		/* hung up: reopened by a later command */
};

struct serial_state;

struct serial_port {
	pthread_mutex_t		 mu;
	char			 name[SERIAL_NAME_MAX + 1];
	struct serial_settings	 set;
	unsigned		 idx;		/* for the backend */
	struct serial_state	*st;		/* back, for callbacks */
	enum port_state		 state;
	struct serial_link	 link;		/* while PORT_OPEN */
	unsigned char		 buf[SERIAL_BUF];	/* received, unread */
	size_t			 len;
	bool			 watched;	/* serial watch */
	picmd_watch		*w;		/* the daemon's, of link.rfd */
	/* Hung up while watched: the tick closes it.  Atomic: the tick
	 * reads it of a port another thread has locked. */
	atomic_bool		 hup;
	bool			 unreported;	/* gone, and no command has
						 * answered it yet */
};

struct serial_state {
	picmd_host		*host;		/* NULL: no events (old daemon) */
	struct serial_backend	*be;
	struct serial_port	*ports;		/* in the config's order */
	unsigned		 nports;
	unsigned		 nmutexes;	/* initialised, for fini */
	pthread_mutex_t		 tick_mu;	/* starting and arming the
						 * tick */
	int			 tick_fd;	/* timerfd; -1 until the first
						 * port opens */
	picmd_watch		*tick_w;
};

extern const struct picmd_api *serial_api;

/* ---- format.c: pure functions, no state ---- */

/* The termios code for a speed in bits per second, or (speed_t)-1. */
speed_t	serial_speed_code(unsigned speed);
/*
 * A port's config value, "<device> <speed> <framing> [flow]" such as
 * "/dev/serial0 9600 8N1" or "/dev/ttyUSB0 115200 8E2 rtscts", into s
 * (s->device malloc'd).  0, or -1 with why.
 */
int	serial_parse_settings(const char *value, struct serial_settings *s,
	    char *why, size_t whylen);
/* strerror(err) into why; errno stays err. */
void	serial_why_errno(int err, char *why, size_t whylen);
/* tio (the device's, from tcgetattr) made what s asks for: raw, the
 * speed, framing and flow control.  0, or -1 with errno. */
int	serial_termios_make(const struct serial_settings *s,
	    struct termios *tio);
/* Does tio, read back after tcsetattr, hold what s asks for?  A driver
 * keeps what it cannot do without a word.  0, or -1 with why. */
int	serial_termios_check(const struct serial_settings *s,
	    const struct termios *tio, char *why, size_t whylen);
/* "8N1" into out (4 bytes). */
void	serial_framing(const struct serial_settings *s, char *out);
const char *serial_flow_word(enum serial_flow flow);
/* A port name: 1 to SERIAL_NAME_MAX letters, digits, '_' and '-'. */
bool	serial_name_ok(const char *name);
/*
 * How long the line may be quiet before serial read takes what came as
 * complete: 3 characters' time at the port's speed, at least 20 ms.
 */
long	serial_gap_ms(const struct serial_settings *s);
/*
 * The n bytes of in as text a client can undo (docs/DEVICES.md): bytes
 * 0x21-0x7e but '\' as they are, '\' as "\\", a space as it is unless it
 * is the first or last byte, every other byte as "\xHH".  out holds at
 * least 4 * n + 1 bytes; returns the length written (NUL-terminated).
 */
size_t	serial_escape(const unsigned char *in, size_t n, char *out);
/*
 * The bytes that "hex:" words give: each word is pairs of hex digits,
 * optionally after 0x ("0d0a", "0x0d 0a").  words[0] is the first word
 * without its "hex:".  Up to size bytes into out, the count in *n; 0, or
 * -1 with why.
 */
int	serial_parse_hex(const char *const *words, int nwords,
	    unsigned char *out, size_t size, size_t *n, char *why,
	    size_t whylen);
/*
 * The next line in buf[0..len): 1 with its first byte at *start, its
 * length (without CR LF) in *n, *more true when it is a piece of a line
 * longer than SERIAL_LINE_MAX (the rest follows), and the bytes it and
 * the empty lines before it take up in *used; 0 when no whole line is
 * there, with *used counting the empty lines to drop.  Lines end with
 * LF; a CR before it belongs to the end; empty lines are skipped.
 */
int	serial_line_next(const unsigned char *buf, size_t len, size_t *start,
	    size_t *n, bool *more, size_t *used);

/* ---- port.c: with the port locked unless said otherwise ---- */

/* The port argv names (any case), or NULL after replying ERR ARGS. */
struct serial_port *serial_find(picmd_ctx *ctx, struct serial_state *st,
	    const char *name);
/* Take the port's mutex by the command's deadline, or reply ERR BUSY. */
int	serial_lock(picmd_ctx *ctx, struct serial_port *p);
void	serial_unlock(struct serial_port *p);
/*
 * Open a closed or gone port (and have the daemon watch it again when it
 * is watched), with a log line; 0, or -1 with errno and why.
 */
int	serial_open(struct serial_port *p, char *why, size_t whylen);
/*
 * The port open and not hung up: opened (or reopened, once it is back)
 * as needed.  0, or -1 after replying ERR DEVICE (a hang-up found here
 * closes the port: the next command reopens it).
 */
int	serial_ensure_open(picmd_ctx *ctx, struct serial_port *p);
/* The port hung up: close it (ending its daemon watch, so not from the
 * port's own watch callback), log it, and mark it gone. */
void	serial_hangup(struct serial_port *p);
/* An open port found hung up is closed now (serial list). */
void	serial_check(struct serial_port *p);
/* "ERR DEVICE port X: DEVICE hung up ..." after serial_hangup(). */
void	serial_reply_gone(picmd_ctx *ctx, struct serial_port *p);
/*
 * One read of what is pending into the port's buffer: the bytes added
 * (0: nothing there, or the buffer is full), or -1 with errno (ENODEV
 * for a hang-up seen as the end of input).
 */
long	serial_fill(struct serial_port *p);
/* Is err (from serial_fill or a write) a device that is gone? */
bool	serial_errno_gone(int err);
/* Milliseconds from now to CLOCK_MONOTONIC's ms, at least 0. */
long	serial_now_ms(void);
/* want, cut to what the command's deadline leaves (minus the margin). */
long	serial_budget(picmd_ctx *ctx, long want);
/* poll() fd for events up to ms: the revents, 0 at the timeout. */
int	serial_poll(int fd, short events, long ms);

/* ---- watch.c ---- */

void	serial_watch(picmd_ctx *ctx, int argc, const char *const *argv);
void	serial_unwatch(picmd_ctx *ctx, int argc, const char *const *argv);
/* Have the daemon watch a watched port that was (re)opened; 0 or -1
 * with errno (locked). */
int	serial_watch_arm(struct serial_port *p);
/* The tick: a timer the daemon watches, started with the first port
 * opened (not in init: watch_fd needs a running daemon).  0, or -1
 * with errno (no daemon: the harness, or picmdd -t). */
int	serial_tick_start(struct serial_state *st);
/* Have the tick look at the ports within ms, or sooner if it was to
 * already (any thread). */
void	serial_tick_arm(struct serial_state *st, long ms);
/* Publish the whole lines in a watched port's buffer (locked). */
void	serial_publish_lines(struct serial_port *p);
/* fini: the tick's descriptor (its watch is gone already). */
void	serial_watch_fini(struct serial_state *st);
/* register_topic's normalise for "serial.": a port's name in any case. */
int	serial_normalise_topic(void *state, const char *word, char *out,
	    size_t size);

#endif
