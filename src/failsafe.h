/*
 * The failsafe programs of [failsafe] (on_lost, on_start, on_stop): lists
 * of command lines, "gpio write 17 0; pwm off 0", run in order through
 * the dispatch table as the daemon itself (no connection, admin), each
 * reply logged, a failing command logged and the next one run anyway.
 *
 * A program is compiled once per configuration against the dispatch
 * table: every line must name a loaded plugin command (not a built-in:
 * those belong to a connection) with a valid argument count, so picmdd -t
 * catches a typo before the day it matters.  Running one blocks the
 * calling thread for as long as its commands take: on_start and on_stop
 * run on the main thread, on_lost on a worker.
 */
#ifndef PICMD_FAILSAFE_H
#define PICMD_FAILSAFE_H

#include "config.h"
#include "dispatch.h"

struct failsafe;

/* Compile cfg's program which; 0 problems and *out (NULL when the
 * program is absent), else the number of problems reported. */
int	failsafe_compile(const struct config *cfg, enum failsafe_program which,
	    struct dispatch *d, struct failsafe **out, config_report_fn report,
	    void *arg);
/* Compile all three; the number of problems. */
int	failsafe_check(const struct config *cfg, struct dispatch *d,
	    config_report_fn report, void *arg);

/* Shared by a running on_lost and the server: freed with the last. */
struct failsafe *failsafe_ref(struct failsafe *f);
void	failsafe_unref(struct failsafe *f);

/* Run f's commands in order on this thread; why says what started it
 * (logged).  Returns how many failed. */
int	failsafe_run(const struct failsafe *f, const char *why,
	    long command_timeout_ms);

const char *failsafe_name(enum failsafe_program which);

#endif
