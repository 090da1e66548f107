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

void
service_ready(const char *status)
{
	(void)status;
}

void
service_reloading(void)
{
}

void
service_stopping(void)
{
}

void
service_watchdog(void)
{
}

uint64_t
service_watchdog_usec(void)
{
	return 0;
}

int
service_listen_fds(void)
{
	return 0;
}

#endif
