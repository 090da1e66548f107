/*
 * The i2c plugin's backend interface.  i2c.c speaks only this; each
 * backend is one file: the kernel's /dev/i2c-N through the i2c-dev
 * ioctls (backend_dev.c), or an in-memory bus (backend_sim.c).
 *
 * A command opens the bus it names, does one transaction, and closes it
 * again: buses come and go (an overlay, i2c-stub, a USB adapter), and an
 * open costs nothing next to a transfer at 100 kHz.
 *
 * Threading contract: i2c.c holds the bus's mutex from before the first
 * transfer or probe on an opened bus until after the last, so calls on one
 * bus never overlap; list and open may run at any time on any thread.  A
 * backend therefore keeps per-bus state per bus and needs no locking of
 * its own.
 *
 * Errors: -1 with errno set; i2c.c turns errno into the reply
 * (ENOENT from open: no such bus; ENXIO, EREMOTEIO, ENODEV from a
 * transfer: no acknowledgement; EBUSY: a kernel driver has the address;
 * EOPNOTSUPP: the adapter cannot do that transfer).
 */
#ifndef PICMD_I2C_BACKEND_H
#define PICMD_I2C_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define I2C_ADAPTER_NAME_MAX	64	/* the kernel's adapter name: 48 */
#define I2C_BUS_MAX		65535	/* highest N of i2c-N picmd takes */

/* The simulated bus and its one device (docs/DEVICES.md). */
#define I2C_SIM_BUS	1
#define I2C_SIM_ADDR	0x48
#define I2C_SIM_NAME	"picmd-sim"

struct i2c_bus_info {
	unsigned	 nr;			/* N of i2c-N */
	char		 name[I2C_ADAPTER_NAME_MAX];	/* "" when unknown */
};

/* How scan asks whether an address answers (i2cdetect's two probes). */
enum i2c_probe {
	I2C_PROBE_QUICK_WRITE,	/* address + write bit, no data */
	I2C_PROBE_READ_BYTE,	/* address + read bit, one byte read */
};

struct i2c_backend;

/* A bus opened for one command: the common head of each backend's. */
struct i2c_bus {
	unsigned	 nr;		/* N of i2c-N */
};

struct i2c_backend_ops {
	void	(*close)(struct i2c_backend *be);
	/* Every bus with its adapter's name, by number; 0 and a malloc'd
	 * array (maybe empty), or -1 with errno and the path that failed in
	 * why. */
	int	(*list)(struct i2c_backend *be, struct i2c_bus_info **buses,
		    size_t *n, char *why, size_t whylen);
	/* Open bus nr; on failure why holds the path tried (for messages
	 * such as "cannot open /dev/i2c-1: Permission denied"). */
	int	(*open)(struct i2c_backend *be, unsigned nr,
		    struct i2c_bus **bus, char *why, size_t whylen);
	void	(*bus_close)(struct i2c_bus *bus);
	/*
	 * One transaction with the device at addr: write w[0..wlen), then
	 * read r[0..rlen) after a repeated start (no stop in between); either
	 * length may be 0, not both.
	 */
	int	(*transfer)(struct i2c_bus *bus, unsigned addr, const uint8_t *w,
		    size_t wlen, uint8_t *r, size_t rlen);
	/* 1 when the device at addr acknowledged, 0 when nothing did, -1
	 * with errno (EBUSY: a kernel driver has the address, and it was not
	 * probed; EOPNOTSUPP: the adapter cannot probe that way). */
	int	(*probe)(struct i2c_bus *bus, unsigned addr, enum i2c_probe how);
};

/* The common head of every backend. */
struct i2c_backend {
	const struct i2c_backend_ops	*ops;
	const char			*kind;		/* "dev" or "sim" */
};

/*
 * The kernel's buses: the devices dev_root/i2c-N, their names from
 * sysfs_root/class/i2c-dev/i2c-N/name (or, where i2c-dev is not loaded,
 * sysfs_root/bus/i2c/devices/i2c-N/name).  NULL when out of memory.
 * backend_dev.c.
 */
struct i2c_backend *i2c_dev_open(const char *dev_root, const char *sysfs_root);
/* Whether dev_root holds any i2c-N at all (init's warning).  backend_dev.c. */
int	i2c_dev_any(const char *dev_root);

/* The simulated bus: i2c-1 with a 256-register device at 0x48.
 * backend_sim.c. */
struct i2c_backend *i2c_sim_open(void);

/* ---- the SMBus stand-in for plain I2C (smbus.c: pure) ---- */

/*
 * Adapters without plain I2C (I2C_FUNC_I2C: SMBus controllers such as a
 * PC's, and i2c-stub) still do the SMBus transfers, which are I2C
 * transactions of fixed shapes.  The one that writes wlen bytes and then
 * reads rlen with a repeated start, given the adapter's I2C_FUNCS bits,
 * or I2C_SMBUS_OP_NONE when SMBus has no such transfer (or the adapter
 * lacks it).
 */
enum i2c_smbus_op {
	I2C_SMBUS_OP_NONE = 0,
	I2C_SMBUS_OP_READ_BYTE,		/* r[0] */
	I2C_SMBUS_OP_WRITE_BYTE,	/* w[0] */
	I2C_SMBUS_OP_WRITE_BYTE_DATA,	/* command w[0], data w[1] */
	I2C_SMBUS_OP_WRITE_I2C_BLOCK,	/* command w[0], data w[1..] */
	I2C_SMBUS_OP_READ_BYTE_DATA,	/* command w[0], r[0] */
	I2C_SMBUS_OP_READ_I2C_BLOCK,	/* command w[0], r[0..] */
};
enum i2c_smbus_op i2c_smbus_plan(unsigned long funcs, size_t wlen,
	    size_t rlen);

#endif
