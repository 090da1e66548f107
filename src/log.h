/*
 * Logging to stderr, one line per message, safe from any thread.
 * The names follow the OpenBSD daemons: *_warn appends strerror(errno),
 * *_warnx does not; fatal/fatalx log and exit(1).
 */
#ifndef PICMD_LOG_H
#define PICMD_LOG_H

#include <stdarg.h>

#include "picmd/plugin.h"

void	log_init(const char *progname);
void	log_set_level(enum picmd_log_level level);
enum picmd_log_level log_get_level(void);
int	log_level_parse(const char *name, enum picmd_log_level *out);

void	log_msg(enum picmd_log_level level, const char *fmt, ...)
	    PICMD_PRINTF(2, 3);
void	log_vmsg(enum picmd_log_level level, const char *fmt, va_list ap)
	    PICMD_PRINTF(2, 0);
void	log_warn(const char *fmt, ...) PICMD_PRINTF(1, 2);
void	log_warnx(const char *fmt, ...) PICMD_PRINTF(1, 2);
void	log_info(const char *fmt, ...) PICMD_PRINTF(1, 2);
void	log_debug(const char *fmt, ...) PICMD_PRINTF(1, 2);
void	fatal(const char *fmt, ...) PICMD_PRINTF(1, 2)
	    __attribute__((noreturn));
void	fatalx(const char *fmt, ...) PICMD_PRINTF(1, 2)
	    __attribute__((noreturn));

#endif
