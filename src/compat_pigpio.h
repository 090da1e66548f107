/*
 * The pigpio front-end: a second, optional listener ([pigpio] listen)
 * that speaks the part of pigpio's socket interface that gpiozero, Home
 * Assistant, Node-RED and pigs use.  Each request becomes one or more
 * ordinary picmd command lines, run through the same dispatch table,
 * permissions, worker pool and deadlines as a text request; only the
 * framing and the mapping of replies to pigpio's results live here.
 * docs/PIGPIO.md is its contract.  Loop thread only.
 */
#ifndef PICMD_COMPAT_PIGPIO_H
#define PICMD_COMPAT_PIGPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidr.h"
#include "endpoint.h"

struct config;
struct conn;
struct pevent;
struct server;

/* Which PWM channel drives a GPIO in hardware: [pigpio] hardware_pwm. */
struct pigpio_hwpwm {
	unsigned	 gpio;
	unsigned	 chip;
	unsigned	 channel;
};

/* [pigpio]; cfg->pigpio is NULL when the section has no listen. */
struct pigpio_config {
	struct endpoint		*listen;
	int			 nlisten;
	struct cidr		*allow;		/* required off loopback */
	int			 nallow;
	uint64_t		 pins;		/* lines it may change */
	uint32_t		 hwver;
	bool			 hwver_set;	/* else read from the system */
	struct pigpio_hwpwm	*hwpwm;
	int			 nhwpwm;
};

/* compat_pigpio_config.c: one key of [pigpio] into *pc (made at the
 * first); -1 with the reason in msg. */
int	pigpio_config_set(struct pigpio_config **pc, const char *key,
	    const char *value, char *msg, size_t msglen);
/* The whole section: -1 with the reason in msg (an open listener). */
int	pigpio_config_check(const struct pigpio_config *pc, char *msg,
	    size_t msglen);
void	pigpio_config_free(struct pigpio_config *pc);
/* The board's revision code: [pigpio] hwver, else the device tree's
 * system/linux,revision, else /proc/cpuinfo's Revision; 0 if none. */
uint32_t pigpio_board_revision(const struct config *cfg);

/* compat_pigpio.c: the daemon-wide state (PWM settings, notification,
 * SPI and I2C handles), made at start when [pigpio] listens.  It takes
 * s->cfg->pigpio: [pigpio] changes apply after a restart. */
struct pigpio_state *pigpio_state_new(struct server *s);
void	pigpio_state_free(struct pigpio_state *ps);
int	pigpio_listen_count(const struct pigpio_state *ps);
const struct endpoint *pigpio_listen(const struct pigpio_state *ps);
/* The [pigpio] in use (NULL: none), and whether two are the same. */
const struct pigpio_config *pigpio_running_config(const struct pigpio_state *ps);
bool	pigpio_config_same(const struct pigpio_config *a,
	    const struct pigpio_config *b);
/* Whether a client at sa may connect ([pigpio] allow; none: any). */
bool	pigpio_allows(const struct pigpio_state *ps, int family,
	    const struct sockaddr *sa);

/* A client accepted on a pigpio listener speaks pigpio from now on. */
int	pigpio_conn_attach(struct conn *c);
/* The connection closes: its handles and subscriptions go with it. */
void	pigpio_conn_detach(struct conn *c);
/* Run every complete request in the connection's input. */
void	pigpio_process_input(struct conn *c);
/* A picmd reply line (code, the line with its LF) for the oldest
 * request: append pigpio's response once its last line is in. */
void	pigpio_reply(struct conn *c, int code, const char *line, size_t len);
/* An event (the connection's seq-th) for a notification stream: append
 * its 12-byte report; -1 when the connection was closed. */
int	pigpio_put_event(struct conn *c, const struct pevent *e, uint64_t seq);

#endif
