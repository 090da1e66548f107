#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "service.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

void
service_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
service_reloading(void)
{
	struct timespec ts;

	/* MONOTONIC_USEC lets Type=notify-reload managers match the reload
	 * to this notification; plain Type=notify ignores it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
service_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

uint64_t
service_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

int
service_listen_fds(void)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		log_warnx("socket activation: bad LISTEN_FDS/LISTEN_PID");
		return 0;
	}
	return n;
}

#else

/*
 * The same, speaking the protocol directly.  systemd documents these
 * interfaces as stable and meant to be reimplemented (sd_notify(3),
 * sd_listen_fds(3)); linking libsystemd instead would pull in libgcrypt,
 * liblzma, libzstd and liblz4 and cost about 0.9 MiB of resident memory,
 * a third of this daemon's budget.  Build with WITH_LIBSYSTEMD=1 to use
 * the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void
notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_debug("notify %s: %s", path, strerror(errno));
	close(fd);
}

void
service_ready(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify(msg);
}

void
service_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify(msg);
}

void
service_stopping(void)
{
	notify("STOPPING=1");
}

void
service_watchdog(void)
{
	notify("WATCHDOG=1");
}

/* An environment number, or -1 when absent or malformed. */
static long long
env_number(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		return -1;
	return n;
}

uint64_t
service_watchdog_usec(void)
{
	long long usec = env_number("WATCHDOG_USEC");
	long long pid = env_number("WATCHDOG_PID");

	if (usec <= 0 || (getenv("WATCHDOG_PID") != NULL &&
	    pid != (long long)getpid()))
		return 0;
	return (uint64_t)usec;
}

int
service_listen_fds(void)
{
	long long pid = env_number("LISTEN_PID");
	long long n = env_number("LISTEN_FDS");

	if (getenv("LISTEN_FDS") == NULL)
		return 0;
	if (pid != (long long)getpid() || n < 0 || n > 256) {
		/* Meant for another process (or malformed): not ours. */
		if (pid != (long long)getpid())
			return 0;
		log_warnx("socket activation: bad LISTEN_FDS");
		return 0;
	}
	for (int fd = 3; fd < 3 + (int)n; fd++) {
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			log_warn("socket activation: fd %d", fd);
			return 0;
		}
	}
	/* Children (exec commands) must not think the sockets are theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}

#endif
