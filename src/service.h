/*
 * Talking to the service manager (systemd's sd-daemon protocol): readiness,
 * reload and stop notifications, the watchdog, and sockets passed by socket
 * activation.  Speaks the protocol directly, or through libsystemd when
 * built with WITH_LIBSYSTEMD=1 (HAVE_LIBSYSTEMD); see service.c for why
 * the default does not link it.
 */
#ifndef PICMD_SERVICE_H
#define PICMD_SERVICE_H

#include <stdint.h>

void	service_ready(const char *status);
void	service_reloading(void);
void	service_stopping(void);
void	service_watchdog(void);
/* Watchdog interval in microseconds when the manager wants pings, else 0. */
uint64_t service_watchdog_usec(void);
/* Number of sockets passed by socket activation (fds from 3 on), or 0. */
int	service_listen_fds(void);

#endif
