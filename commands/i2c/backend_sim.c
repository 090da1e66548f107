/*
 * The simulated I2C bus, so the daemon works on a PC and the tests need no
 * hardware: bus i2c-1 ("picmd-sim") with one device at 0x48, and nothing
 * else answering.
 *
 * The device is the common register file: 256 byte registers, all 0 at
 * start, and a register pointer.  The first byte of a write sets the
 * pointer, each further byte is stored where it points; every byte read
 * comes from where it points; the pointer moves on by one after each
 * byte stored or read, from 0xff back to 0x00.  So a register read (write
 * the register number, read after a repeated start) reads from that
 * register, a plain read continues from where the last access stopped,
 * and "writereg 1 0x48 0x10 a5" then "readreg 1 0x48 0x10" gives a5.
 * Probes: the device answers both (a read-byte probe reads one byte and
 * so moves the pointer, as it would on hardware).  Anything else does
 * not acknowledge: EREMOTEIO, the Pi's controller's answer.
 *
 * i2c.c serialises the calls on the bus (backend.h), so no lock here.
 * Each byte gives up the CPU, as a byte on a real bus takes its time
 * (90 us at 100 kHz): without that, a transaction would be over before
 * another thread could cut in, and a missing lock would go unseen.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct sim_bus {
	struct i2c_bus	 bus;		/* first: the common head */
	uint8_t		 regs[256];
	uint8_t		 ptr;		/* wraps at 256 by its type */
};

struct sim_backend {
	struct i2c_backend	 be;		/* first: the common head */
	struct sim_bus		 bus;		/* the one bus, always there */
};

static struct sim_bus *
sb(struct i2c_bus *bus)
{
	return (struct sim_bus *)bus;
}

static int
sim_list(struct i2c_backend *be, struct i2c_bus_info **buses, size_t *n,
    char *why, size_t whylen)
{
	(void)be;
	(void)why;
	(void)whylen;
	if ((*buses = calloc(1, sizeof(**buses))) == NULL)
		return -1;
	(*buses)[0].nr = I2C_SIM_BUS;
	strcpy((*buses)[0].name, I2C_SIM_NAME);
	*n = 1;
	return 0;
}

static int
sim_open(struct i2c_backend *be, unsigned nr, struct i2c_bus **bus,
    char *why, size_t whylen)
{
	why[0] = '\0';
	(void)whylen;
	if (nr != I2C_SIM_BUS) {
		errno = ENOENT;
		return -1;
	}
	*bus = &((struct sim_backend *)be)->bus.bus;
	return 0;
}

/* The bus lives as long as the backend. */
static void
sim_bus_close(struct i2c_bus *bus)
{
	(void)bus;
}

static int
sim_transfer(struct i2c_bus *b, unsigned addr, const uint8_t *w,
    size_t wlen, uint8_t *r, size_t rlen)
{
	struct sim_bus *bus = sb(b);

	if (addr != I2C_SIM_ADDR) {
		errno = EREMOTEIO;
		return -1;
	}
	if (wlen > 0) {
		bus->ptr = w[0];
		for (size_t i = 1; i < wlen; i++) {
			sched_yield();
			bus->regs[bus->ptr++] = w[i];
		}
	}
	for (size_t i = 0; i < rlen; i++) {
		sched_yield();
		r[i] = bus->regs[bus->ptr++];
	}
	return 0;
}

static int
sim_probe(struct i2c_bus *b, unsigned addr, enum i2c_probe how)
{
	struct sim_bus *bus = sb(b);

	if (addr != I2C_SIM_ADDR)
		return 0;
	if (how == I2C_PROBE_READ_BYTE)
		bus->ptr++;
	return 1;
}

static void
sim_close(struct i2c_backend *be)
{
	free(be);
}

static const struct i2c_backend_ops sim_ops = {
	.close = sim_close,
	.list = sim_list,
	.open = sim_open,
	.bus_close = sim_bus_close,
	.transfer = sim_transfer,
	.probe = sim_probe,
};

struct i2c_backend *
i2c_sim_open(void)
{
	struct sim_backend *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->be.ops = &sim_ops;
	s->be.kind = "sim";
	s->bus.bus.nr = I2C_SIM_BUS;
	return &s->be;
}
