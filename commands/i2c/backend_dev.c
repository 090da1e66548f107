/*
 * The kernel's I2C buses through i2c-dev: /dev/i2c-N and its ioctls
 * (Documentation/i2c/dev-interface.rst), as i2c-tools use them.
 *
 *  - A transaction is one I2C_RDWR with one or two messages (write, then
 *    read after a repeated start), so the kernel runs it whole with the
 *    adapter locked.  An adapter without plain I2C (I2C_FUNC_I2C) gets
 *    the SMBus transfer of the same shape instead (smbus.c), which is
 *    what PC SMBus controllers and i2c-stub understand.
 *  - Every transaction and probe first claims the address with
 *    I2C_SLAVE, not I2C_SLAVE_FORCE: the kernel answers EBUSY when one of
 *    its drivers owns the address (an RTC, a HAT's EEPROM, a codec), and
 *    picmd leaves such a device to its driver, as i2cget does without -f.
 *  - Scan probes are i2cdetect's: SMBus quick write or read byte.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/i2c.h>
#include <linux/i2c-dev.h>

#include "backend.h"
#include "sysfs.h"

struct dev_backend {
	struct i2c_backend	 be;		/* first: the common head */
	char			*dev_root;
	char			*sysfs_root;
};

struct dev_bus {
	struct i2c_bus		 bus;		/* first: the common head */
	int			 fd;
	unsigned long		 funcs;		/* I2C_FUNCS */
};

static struct dev_bus *
db(struct i2c_bus *bus)
{
	return (struct dev_bus *)bus;
}

/* "i2c-" followed by digits only; the number in *nr. */
static int
dev_bus_name(const char *s, unsigned *nr)
{
	unsigned long long v;

	if (strncmp(s, "i2c-", 4) != 0 || !sysfs_parse_ull(s + 4, I2C_BUS_MAX,
	    &v))
		return 0;
	*nr = (unsigned)v;
	return 1;
}

static int
dev_cmp_bus(const void *a, const void *b)
{
	const struct i2c_bus_info *x = a, *y = b;

	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

/*
 * The i2c-N entries of dir with each one's name file.  1 and the list
 * when dir exists, 0 when it does not, -1 with errno on another failure.
 */
static int
dev_list_dir(const char *dir, struct i2c_bus_info **out, size_t *nout)
{
	struct i2c_bus_info *list = NULL, *tmp;
	char **names, path[4096];
	size_t n, count = 0;
	unsigned nr;
	int rc;

	if ((rc = sysfs_list_names(dir, NULL, &names, &n)) != 0) {
		if (rc == SYSFS_LIST_NOMEM)
			errno = ENOMEM;
		return rc == SYSFS_LIST_NODIR && errno == ENOENT ? 0 : -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!dev_bus_name(names[i], &nr))
			continue;	/* bus/i2c/devices also lists 1-0048 */
		if ((tmp = reallocarray(list, count + 1, sizeof(*list))) ==
		    NULL) {
			free(list);
			sysfs_free_names(names, n);
			errno = ENOMEM;
			return -1;
		}
		list = tmp;
		list[count].nr = nr;
		list[count].name[0] = '\0';
		/* An adapter without a readable name is still a bus. */
		if (sysfs_path(path, sizeof(path), "%s/%s/name", dir,
		    names[i]) == -1 || sysfs_read(path, list[count].name,
		    sizeof(list[count].name), SYSFS_TRIM_SPACES) == -1)
			list[count].name[0] = '\0';
		count++;
	}
	sysfs_free_names(names, n);
	if (count > 1)
		qsort(list, count, sizeof(*list), dev_cmp_bus);
	*out = list;
	*nout = count;
	return 1;
}

/*
 * class/i2c-dev has the buses that have a /dev node; without the i2c-dev
 * module loaded it does not exist, and bus/i2c/devices still shows the
 * adapters (whose commands then answer "no such bus" until it is).
 */
static int
dev_list(struct i2c_backend *be, struct i2c_bus_info **buses, size_t *n,
    char *why, size_t whylen)
{
	struct dev_backend *d = (struct dev_backend *)be;
	static const char *const dirs[] = { "class/i2c-dev", "bus/i2c/devices" };
	char dir[4096];
	int rc;

	*buses = NULL;
	*n = 0;
	for (size_t i = 0; i < SYSFS_NELEM(dirs); i++) {
		if (sysfs_path(dir, sizeof(dir), "%s/%s", d->sysfs_root,
		    dirs[i]) == -1) {
			snprintf(why, whylen, "%s/%s", d->sysfs_root, dirs[i]);
			errno = ENAMETOOLONG;
			return -1;
		}
		if ((rc = dev_list_dir(dir, buses, n)) == -1) {
			snprintf(why, whylen, "%s", dir);
			return -1;
		}
		if (rc == 1)
			return 0;
	}
	return 0;		/* no I2C in this kernel at all */
}

static int
dev_open(struct i2c_backend *be, unsigned nr, struct i2c_bus **out,
    char *why, size_t whylen)
{
	struct dev_backend *d = (struct dev_backend *)be;
	struct dev_bus *bus;
	int e;

	if (sysfs_path(why, whylen, "%s/i2c-%u", d->dev_root, nr) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((bus = calloc(1, sizeof(*bus))) == NULL)
		return -1;
	if ((bus->fd = open(why, O_RDWR | O_CLOEXEC)) == -1) {
		e = errno;
		free(bus);
		errno = e;
		return -1;
	}
	/* Also tells an I2C adapter from any other file: ENOTTY. */
	if (ioctl(bus->fd, I2C_FUNCS, &bus->funcs) == -1) {
		e = errno;
		close(bus->fd);
		free(bus);
		errno = e;
		return -1;
	}
	bus->bus.nr = nr;
	*out = &bus->bus;
	return 0;
}

static void
dev_bus_close(struct i2c_bus *bus)
{
	close(db(bus)->fd);
	free(db(bus));
}

/* Claim addr for the SMBus ioctls; EBUSY when a driver has it. */
static int
dev_claim(struct dev_bus *bus, unsigned addr)
{
	return ioctl(bus->fd, I2C_SLAVE, (unsigned long)addr) == -1 ? -1 : 0;
}

static int
dev_smbus(struct dev_bus *bus, char rw, uint8_t command, uint32_t size,
    union i2c_smbus_data *data)
{
	struct i2c_smbus_ioctl_data args = {
		.read_write = (uint8_t)rw, .command = command, .size = size,
		.data = data,
	};

	return ioctl(bus->fd, I2C_SMBUS, &args) == -1 ? -1 : 0;
}

/* The transaction as the SMBus transfer smbus.c picked. */
static int
dev_transfer_smbus(struct dev_bus *bus, const uint8_t *w, size_t wlen,
    uint8_t *r, size_t rlen)
{
	union i2c_smbus_data data;

	memset(&data, 0, sizeof(data));
	switch (i2c_smbus_plan(bus->funcs, wlen, rlen)) {
	case I2C_SMBUS_OP_READ_BYTE:
		if (dev_smbus(bus, I2C_SMBUS_READ, 0, I2C_SMBUS_BYTE,
		    &data) == -1)
			return -1;
		r[0] = data.byte;
		return 0;
	case I2C_SMBUS_OP_WRITE_BYTE:
		/* The byte travels in the command field. */
		return dev_smbus(bus, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_BYTE,
		    NULL);
	case I2C_SMBUS_OP_WRITE_BYTE_DATA:
		data.byte = w[1];
		return dev_smbus(bus, I2C_SMBUS_WRITE, w[0],
		    I2C_SMBUS_BYTE_DATA, &data);
	case I2C_SMBUS_OP_WRITE_I2C_BLOCK:
		data.block[0] = (uint8_t)(wlen - 1);
		memcpy(&data.block[1], w + 1, wlen - 1);
		return dev_smbus(bus, I2C_SMBUS_WRITE, w[0],
		    I2C_SMBUS_I2C_BLOCK_DATA, &data);
	case I2C_SMBUS_OP_READ_BYTE_DATA:
		if (dev_smbus(bus, I2C_SMBUS_READ, w[0], I2C_SMBUS_BYTE_DATA,
		    &data) == -1)
			return -1;
		r[0] = data.byte;
		return 0;
	case I2C_SMBUS_OP_READ_I2C_BLOCK:
		/* The length asked for goes in block[0]; the kernel puts the
		 * length read there. */
		data.block[0] = (uint8_t)rlen;
		if (dev_smbus(bus, I2C_SMBUS_READ, w[0],
		    I2C_SMBUS_I2C_BLOCK_DATA, &data) == -1)
			return -1;
		if (data.block[0] != rlen) {
			errno = EIO;
			return -1;
		}
		memcpy(r, &data.block[1], rlen);
		return 0;
	case I2C_SMBUS_OP_NONE:
		break;
	}
	errno = EOPNOTSUPP;
	return -1;
}

static int
dev_transfer(struct i2c_bus *b, unsigned addr, const uint8_t *w,
    size_t wlen, uint8_t *r, size_t rlen)
{
	struct dev_bus *bus = db(b);
	struct i2c_msg msgs[2];
	struct i2c_rdwr_ioctl_data rdwr = { .msgs = msgs, .nmsgs = 0 };
	int n;

	if (dev_claim(bus, addr) == -1)
		return -1;
	if (!(bus->funcs & I2C_FUNC_I2C))
		return dev_transfer_smbus(bus, w, wlen, r, rlen);
	/* The kernel only reads a write message's buffer. */
	if (wlen > 0)
		msgs[rdwr.nmsgs++] = (struct i2c_msg){ .addr = (uint16_t)addr,
		    .flags = 0, .len = (uint16_t)wlen, .buf = (uint8_t *)w };
	if (rlen > 0)
		msgs[rdwr.nmsgs++] = (struct i2c_msg){ .addr = (uint16_t)addr,
		    .flags = I2C_M_RD, .len = (uint16_t)rlen, .buf = r };
	if ((n = ioctl(bus->fd, I2C_RDWR, &rdwr)) == -1)
		return -1;
	if ((unsigned)n != rdwr.nmsgs) {
		errno = EIO;	/* fewer messages than asked: cut short */
		return -1;
	}
	return 0;
}

static int
dev_probe(struct i2c_bus *b, unsigned addr, enum i2c_probe how)
{
	struct dev_bus *bus = db(b);
	union i2c_smbus_data data;
	int rc;

	if (how == I2C_PROBE_QUICK_WRITE &&
	    !(bus->funcs & I2C_FUNC_SMBUS_QUICK)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (how == I2C_PROBE_READ_BYTE &&
	    !(bus->funcs & I2C_FUNC_SMBUS_READ_BYTE)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (dev_claim(bus, addr) == -1)
		return -1;
	if (how == I2C_PROBE_QUICK_WRITE)
		rc = dev_smbus(bus, I2C_SMBUS_WRITE, 0, I2C_SMBUS_QUICK, NULL);
	else
		rc = dev_smbus(bus, I2C_SMBUS_READ, 0, I2C_SMBUS_BYTE, &data);
	/* As i2cdetect: any failure of the probe means nothing answered. */
	return rc == 0 ? 1 : 0;
}

static void
dev_close(struct i2c_backend *be)
{
	struct dev_backend *d = (struct dev_backend *)be;

	free(d->dev_root);
	free(d->sysfs_root);
	free(d);
}

static const struct i2c_backend_ops dev_ops = {
	.close = dev_close,
	.list = dev_list,
	.open = dev_open,
	.bus_close = dev_bus_close,
	.transfer = dev_transfer,
	.probe = dev_probe,
};

struct i2c_backend *
i2c_dev_open(const char *dev_root, const char *sysfs_root)
{
	struct dev_backend *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->be.ops = &dev_ops;
	d->be.kind = "dev";
	if ((d->dev_root = strdup(dev_root)) == NULL ||
	    (d->sysfs_root = strdup(sysfs_root)) == NULL) {
		dev_close(&d->be);
		return NULL;
	}
	return &d->be;
}

int
i2c_dev_any(const char *dev_root)
{
	struct dirent *de;
	unsigned nr;
	int found = 0;
	DIR *dp;

	if ((dp = opendir(dev_root)) == NULL)
		return -1;
	while (!found && (de = readdir(dp)) != NULL)
		found = dev_bus_name(de->d_name, &nr);
	closedir(dp);
	return found;
}
