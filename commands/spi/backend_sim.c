/*
 * The simulated SPI device, so the daemon works on a PC and the tests
 * need no hardware: spidev0.0 with MISO wired to MOSI (the loopback
 * spidev_test uses), so every transfer reads back what it sent, whatever
 * the speed and mode.  Nothing else exists.  It keeps the speed and mode
 * of the last transfer (spi sim-last), so tests can see which the
 * configuration chose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct sim_dev {
	struct spi_dev		 dev;		/* first: the common head */
	int			 used;		/* a transfer happened */
	uint32_t		 speed_hz;	/* of the last transfer */
	unsigned		 mode;
};

struct sim_backend {
	struct spi_backend	 be;		/* first: the common head */
	struct sim_dev		 dev;		/* the one device */
};

static int
sim_list(struct spi_backend *be, struct spi_dev_id **ids, size_t *n,
    char *why, size_t whylen)
{
	(void)be;
	(void)why;
	(void)whylen;
	if ((*ids = calloc(1, sizeof(**ids))) == NULL)
		return -1;
	(*ids)[0] = (struct spi_dev_id){ SPI_SIM_BUS, SPI_SIM_CS };
	*n = 1;
	return 0;
}

static int
sim_open(struct spi_backend *be, struct spi_dev_id id, struct spi_dev **dev,
    char *why, size_t whylen)
{
	(void)whylen;
	why[0] = '\0';
	if (id.bus != SPI_SIM_BUS || id.cs != SPI_SIM_CS) {
		errno = ENOENT;
		return -1;
	}
	*dev = &((struct sim_backend *)be)->dev.dev;
	return 0;
}

/* The device lives as long as the backend. */
static void
sim_dev_close(struct spi_dev *dev)
{
	(void)dev;
}

static int
sim_transfer(struct spi_dev *dev, uint32_t speed_hz, unsigned mode,
    const uint8_t *tx, uint8_t *rx, size_t len)
{
	struct sim_dev *d = (struct sim_dev *)dev;

	d->used = 1;
	d->speed_hz = speed_hz;
	d->mode = mode;
	memcpy(rx, tx, len);
	return 0;
}

static void
sim_close(struct spi_backend *be)
{
	free(be);
}

static const struct spi_backend_ops sim_ops = {
	.close = sim_close,
	.list = sim_list,
	.open = sim_open,
	.dev_close = sim_dev_close,
	.transfer = sim_transfer,
};

struct spi_backend *
spi_sim_open(void)
{
	struct sim_backend *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->be.ops = &sim_ops;
	s->be.kind = "sim";
	s->dev.dev.id = (struct spi_dev_id){ SPI_SIM_BUS, SPI_SIM_CS };
	return &s->be;
}

int
spi_sim_last(struct spi_backend *be, uint32_t *speed_hz, unsigned *mode)
{
	struct sim_backend *s = (struct sim_backend *)be;

	if (be->ops != &sim_ops || !s->dev.used)
		return -1;
	*speed_hz = s->dev.speed_hz;
	*mode = s->dev.mode;
	return 0;
}
