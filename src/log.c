/*
 * Logging.  Each message is formatted into one buffer and written with a
 * single write(2), so lines from worker threads never interleave.  The level
 * is an atomic so SIGHUP can change it while workers log.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

static _Atomic int log_level = PICMD_LOG_INFO;
static const char *log_progname = "picmdd";
static bool log_to_journal;

/* syslog priorities, as "<N>" prefixes the journal understands. */
static const char *const journal_prefix[] = {
	[PICMD_LOG_ERROR] = "<3>",
	[PICMD_LOG_WARN] = "<4>",
	[PICMD_LOG_INFO] = "<6>",
	[PICMD_LOG_DEBUG] = "<7>",
};

static const char *const level_names[] = {
	[PICMD_LOG_ERROR] = "error",
	[PICMD_LOG_WARN] = "warn",
	[PICMD_LOG_INFO] = "info",
	[PICMD_LOG_DEBUG] = "debug",
};

/*
 * systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to stderr; only when they match is stderr really the journal
 * (not, say, a pipe the daemon's own child inherited the variable through).
 */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname)
{
	log_progname = progname;
	log_to_journal = stderr_is_journal();
}

void
log_set_level(enum picmd_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum picmd_log_level
log_get_level(void)
{
	return (enum picmd_log_level)atomic_load(&log_level);
}

int
log_level_parse(const char *name, enum picmd_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum picmd_log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
log_write(enum picmd_log_level level, const char *errstr, const char *fmt,
    va_list ap)
{
	char buf[1024];
	int n, m;

	if ((int)level > atomic_load(&log_level))
		return;
	/* The journal adds the program name itself. */
	if (log_to_journal)
		n = snprintf(buf, sizeof(buf), "%s%s: ", journal_prefix[level],
		    level_names[level]);
	else
		n = snprintf(buf, sizeof(buf), "%s: %s: ", log_progname,
		    level_names[level]);
	if (n < 0)
		return;
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	if (errstr != NULL) {
		m = snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", errstr);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(buf) - 1)
			n = (int)sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	/* Nothing sensible to do when stderr is gone. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

void
log_vmsg(enum picmd_log_level level, const char *fmt, va_list ap)
{
	log_write(level, NULL, fmt, ap);
}

void
log_msg(enum picmd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char errbuf[128];
	const char *e;
	va_list ap;

	e = strerror_r(errno, errbuf, sizeof(errbuf));
	va_start(ap, fmt);
	log_write(PICMD_LOG_WARN, e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(PICMD_LOG_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(PICMD_LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(PICMD_LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char errbuf[128];
	const char *e;
	va_list ap;

	e = strerror_r(errno, errbuf, sizeof(errbuf));
	va_start(ap, fmt);
	log_write(PICMD_LOG_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(PICMD_LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
