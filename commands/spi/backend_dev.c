/*
 * The kernel's SPI devices through spidev: /dev/spidevB.C and
 * SPI_IOC_MESSAGE (Documentation/spi/spidev.rst), as spidev_test uses
 * them.  A device exists only where the device tree binds spidev to a
 * chip select (on a Pi: dtparam=spi=on gives spidev0.0 and spidev0.1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/spi/spidev.h>

#include "backend.h"
#include "sysfs.h"

struct dev_backend {
	struct spi_backend	 be;		/* first: the common head */
	char			*dev_root;
};

struct dev_dev {
	struct spi_dev		 dev;		/* first: the common head */
	int			 fd;
};

/* digits up to a stop character; the rest after it in *end. */
static int
dev_number(const char *s, char stop, unsigned long max, unsigned *out,
    const char **end)
{
	unsigned long v = 0;

	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return 0;
	}
	if (*s != stop)
		return 0;
	*out = (unsigned)v;
	*end = s;
	return 1;
}

/* "spidevB.C": 1 and the numbers in *id, else 0. */
static int
dev_name(const char *s, struct spi_dev_id *id)
{
	const char *p;

	if (strncmp(s, "spidev", 6) != 0 ||
	    !dev_number(s + 6, '.', SPI_BUS_MAX, &id->bus, &p) ||
	    !dev_number(p + 1, '\0', SPI_CS_MAX, &id->cs, &p))
		return 0;
	return 1;
}

static int
dev_cmp_id(const void *a, const void *b)
{
	const struct spi_dev_id *x = a, *y = b;

	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	return x->cs < y->cs ? -1 : x->cs > y->cs;
}

static int
dev_list(struct spi_backend *be, struct spi_dev_id **ids, size_t *n,
    char *why, size_t whylen)
{
	struct dev_backend *d = (struct dev_backend *)be;
	struct spi_dev_id *list = NULL, *tmp, id;
	struct dirent *de;
	size_t count = 0;
	DIR *dp;

	if ((dp = opendir(d->dev_root)) == NULL) {
		snprintf(why, whylen, "%s", d->dev_root);
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!dev_name(de->d_name, &id))
			continue;
		if ((tmp = reallocarray(list, count + 1, sizeof(*list))) ==
		    NULL) {
			closedir(dp);
			free(list);
			snprintf(why, whylen, "%s", d->dev_root);
			errno = ENOMEM;
			return -1;
		}
		list = tmp;
		list[count++] = id;
	}
	closedir(dp);
	if (count > 1)
		qsort(list, count, sizeof(*list), dev_cmp_id);
	*ids = list;
	*n = count;
	return 0;
}

static int
dev_open(struct spi_backend *be, struct spi_dev_id id, struct spi_dev **out,
    char *why, size_t whylen)
{
	struct dev_backend *d = (struct dev_backend *)be;
	struct dev_dev *dev;
	uint32_t mode;
	int e;

	if (sysfs_path(why, whylen, "%s/spidev%u.%u", d->dev_root, id.bus,
	    id.cs) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return -1;
	dev->dev.id = id;
	if ((dev->fd = open(why, O_RDWR | O_CLOEXEC)) == -1) {
		e = errno;
		free(dev);
		errno = e;
		return -1;
	}
	/* Also tells spidev from any other file: ENOTTY. */
	if (ioctl(dev->fd, SPI_IOC_RD_MODE32, &mode) == -1) {
		e = errno;
		close(dev->fd);
		free(dev);
		errno = e;
		return -1;
	}
	*out = &dev->dev;
	return 0;
}

static void
dev_dev_close(struct spi_dev *dev)
{
	close(((struct dev_dev *)dev)->fd);
	free(dev);
}

static int
dev_transfer(struct spi_dev *dev, uint32_t speed_hz, unsigned mode,
    const uint8_t *tx, uint8_t *rx, size_t len)
{
	int fd = ((struct dev_dev *)dev)->fd;
	struct spi_ioc_transfer xfer;
	uint32_t old, want;
	int n;

	/* Only CPOL and CPHA: SPI_CS_HIGH, SPI_LSB_FIRST and the rest come
	 * from the device tree or another program, and stay. */
	if (ioctl(fd, SPI_IOC_RD_MODE32, &old) == -1)
		return -1;
	want = (old & ~(uint32_t)(SPI_CPOL | SPI_CPHA)) | (mode & 3u);
	if (want != old && ioctl(fd, SPI_IOC_WR_MODE32, &want) == -1)
		return -1;
	memset(&xfer, 0, sizeof(xfer));
	xfer.tx_buf = (uintptr_t)tx;
	xfer.rx_buf = (uintptr_t)rx;
	xfer.len = (uint32_t)len;
	xfer.speed_hz = speed_hz;
	xfer.bits_per_word = 8;
	if ((n = ioctl(fd, SPI_IOC_MESSAGE(1), &xfer)) == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void
dev_close(struct spi_backend *be)
{
	struct dev_backend *d = (struct dev_backend *)be;

	free(d->dev_root);
	free(d);
}

static const struct spi_backend_ops dev_ops = {
	.close = dev_close,
	.list = dev_list,
	.open = dev_open,
	.dev_close = dev_dev_close,
	.transfer = dev_transfer,
};

struct spi_backend *
spi_dev_open(const char *dev_root)
{
	struct dev_backend *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->be.ops = &dev_ops;
	d->be.kind = "dev";
	if ((d->dev_root = strdup(dev_root)) == NULL) {
		free(d);
		return NULL;
	}
	return &d->be;
}

int
spi_dev_any(const char *dev_root)
{
	struct spi_dev_id id;
	struct dirent *de;
	int found = 0;
	DIR *dp;

	if ((dp = opendir(dev_root)) == NULL)
		return -1;
	while (!found && (de = readdir(dp)) != NULL)
		found = dev_name(de->d_name, &id);
	closedir(dp);
	return found;
}
