/*
 * The spi plugin's backend interface.  spi.c speaks only this; each
 * backend is one file: the kernel's spidev (/dev/spidevB.C,
 * backend_dev.c), or an in-memory device in loopback (backend_sim.c).
 *
 * A command opens the device it names, does one full-duplex transfer and
 * closes it again, so devices that appear later (an overlay loaded at run
 * time) work without a restart.
 *
 * Threading contract: spi.c holds the device's mutex from before the
 * transfer until after it, so transfers on one device never overlap (the
 * mode is a property of the device in the kernel: set it and transfer
 * must not interleave with another client's); list and open may run at
 * any time.  So a backend needs no locking of its own.
 *
 * Errors: -1 with errno set (ENOENT from open: no such device); spi.c
 * turns errno into the reply.
 */
#ifndef PICMD_SPI_BACKEND_H
#define PICMD_SPI_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define SPI_BUS_MAX	32767		/* the kernel's bus_num is an s16 */
#define SPI_CS_MAX	255
#define SPI_XFER_MAX	4096		/* bytes; spidev's default bufsiz */

/* The simulated device (docs/DEVICES.md): spidev0.0, MISO = MOSI. */
#define SPI_SIM_BUS	0
#define SPI_SIM_CS	0

struct spi_dev_id {
	unsigned	 bus;
	unsigned	 cs;
};

/* A device opened for one command: the common head of each backend's. */
struct spi_dev {
	struct spi_dev_id id;
};

struct spi_backend;

struct spi_backend_ops {
	void	(*close)(struct spi_backend *be);
	/* Every device by bus, then chip select; 0 and a malloc'd array
	 * (maybe empty), or -1 with errno and the path that failed in why. */
	int	(*list)(struct spi_backend *be, struct spi_dev_id **ids,
		    size_t *n, char *why, size_t whylen);
	/* Open bus.cs; on failure why holds the path tried. */
	int	(*open)(struct spi_backend *be, struct spi_dev_id id,
		    struct spi_dev **dev, char *why, size_t whylen);
	void	(*dev_close)(struct spi_dev *dev);
	/*
	 * Clock len bytes out of tx while reading as many into rx, at
	 * speed_hz (the controller rounds down to what it can), in SPI mode
	 * 0-3 (CPOL, CPHA); the device's other mode flags are left alone.
	 */
	int	(*transfer)(struct spi_dev *dev, uint32_t speed_hz,
		    unsigned mode, const uint8_t *tx, uint8_t *rx, size_t len);
};

/* The common head of every backend. */
struct spi_backend {
	const struct spi_backend_ops	*ops;
	const char			*kind;		/* "dev" or "sim" */
};

/* The kernel's spidev devices in dev_root; NULL when out of memory.
 * backend_dev.c. */
struct spi_backend *spi_dev_open(const char *dev_root);
/* Whether dev_root holds any spidevB.C at all (init's warning); -1 with
 * errno when it cannot be read.  backend_dev.c. */
int	spi_dev_any(const char *dev_root);

/* The simulated device 0.0 in loopback.  backend_sim.c. */
struct spi_backend *spi_sim_open(void);
/* The speed and mode of the simulated device's last transfer, which the
 * loopback cannot show (spi sim-last); -1 before the first.  With the
 * device's mutex held. */
int	spi_sim_last(struct spi_backend *be, uint32_t *speed_hz,
	    unsigned *mode);

#endif
