/*
 * The serial plugin's backend interface.  The plugin (serial.c, port.c,
 * watch.c) speaks only this; each backend is one file: the termios
 * device (backend_dev.c) and a simulated loopback port (backend_sim.c),
 * chosen with [serial] backend = dev|sim.
 *
 * Threading contract: the plugin serialises every call that names one
 * port (it holds that port's mutex), and calls for different ports may
 * run at the same time on different threads.  new/close run alone.  A
 * backend therefore keeps its state per port and needs no lock.
 *
 * Errors: functions returning int or ssize_t answer -1 with errno set
 * (the reason a client sees through strerror).
 */
#ifndef PICMD_SERIAL_BACKEND_H
#define PICMD_SERIAL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum serial_flow {
	SERIAL_FLOW_NONE = 0,
	SERIAL_FLOW_RTSCTS,	/* hardware: the RTS and CTS lines */
	SERIAL_FLOW_XONXOFF,	/* software: bytes 0x11 and 0x13 */
};

/* One port as the configuration describes it. */
struct serial_settings {
	char		*device;	/* absolute path, malloc'd */
	unsigned	 speed;		/* bits per second: 9600 */
	unsigned	 data_bits;	/* 5 to 8 */
	char		 parity;	/* 'N', 'E' or 'O' */
	unsigned	 stop_bits;	/* 1 or 2 */
	enum serial_flow flow;
};

/*
 * The descriptors of an open port.  rfd becomes readable when bytes
 * arrived or the port hung up (the daemon watches it for serial watch);
 * wfd becomes writable when the port takes more output.  The device
 * backend uses one descriptor for both.  They stay valid until release()
 * or close(), whatever happens to the device meanwhile.
 */
struct serial_link {
	int	 rfd;
	int	 wfd;
};

struct serial_backend;

struct serial_backend_ops {
	/* Release every port and free the backend. */
	void	(*close)(struct serial_backend *be);
	/*
	 * Open port i with its settings, for this process alone, and fill
	 * link.  A port that is open already is released first.  0, or -1
	 * with errno and the reason as a user reads it in why (strerror,
	 * or what the device refused).
	 */
	int	(*open)(struct serial_backend *be, unsigned i,
		    const struct serial_settings *s, struct serial_link *link,
		    char *why, size_t whylen);
	/* Close port i; nothing happens if it is not open. */
	void	(*release)(struct serial_backend *be, unsigned i);
	/*
	 * Without waiting: the number of bytes read (> 0); 0 when the port
	 * hung up; -1 with errno (EAGAIN: nothing there now).
	 */
	ssize_t	(*read)(struct serial_backend *be, unsigned i, void *buf,
		    size_t n);
	/* Without waiting: the number of bytes taken (> 0), or -1 with
	 * errno (EAGAIN: the output is full now, EIO: the port hung up). */
	ssize_t	(*write)(struct serial_backend *be, unsigned i,
		    const void *buf, size_t n);
	/* Drop the input received and not read yet: how many bytes were
	 * dropped, or -1 with errno. */
	long	(*discard)(struct serial_backend *be, unsigned i);
};

/* The common head of every backend. */
struct serial_backend {
	const struct serial_backend_ops	*ops;
	const char			*kind;		/* "dev" or "sim" */
	unsigned			 nports;
};

/* The termios device backend for nports ports; NULL when out of memory. */
struct serial_backend *serial_dev_new(unsigned nports);

/* The simulated backend: each port is a loopback, backend_sim.c. */
struct serial_backend *serial_sim_new(unsigned nports);
/*
 * The simulated device is unplugged (gone true: the open port hangs up
 * and open fails with ENOENT) or plugged in again (gone false).
 */
int	serial_sim_unplug(struct serial_backend *be, unsigned i, bool gone);

#endif
