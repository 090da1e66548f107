/*
 * The part of finding chips that does not depend on libgpiod's version:
 * which entries of the /dev directory are chips (gpiochip<digits>), in
 * numeric order, and how a failed open reads to a user.  Opening each
 * entry to learn its label and size is gpio_chip_probe(), which the
 * chip backend compiled in (backend_chip_v1.c or backend_chip_v2.c)
 * provides.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

const char *
gpio_chip_open_reason(int err)
{
	/*
	 * Both libgpiod majors check that a path is a GPIO character device
	 * before they open it: ENOTTY for a file or any other device type,
	 * ENODEV for a character device of another subsystem.
	 */
	if (err == ENOTTY || err == ENODEV)
		return "not a GPIO character device";
	return strerror(err);
}

static int
cmp_chip(const void *a, const void *b)
{
	const struct gpio_chip_desc *x = a, *y = b;
	unsigned long nx = strtoul(x->name + 8, NULL, 10);
	unsigned long ny = strtoul(y->name + 8, NULL, 10);

	return nx < ny ? -1 : nx > ny;
}

/* "gpiochip" followed by digits only. */
static int
is_chip_name(const char *s)
{
	if (strncmp(s, "gpiochip", 8) != 0 || s[8] == '\0')
		return 0;
	for (s += 8; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int
gpio_chip_scan(const char *dev_root, struct gpio_chip_desc **chips,
    size_t *n, char *why, size_t whylen)
{
	struct gpio_chip_desc *list = NULL, *tmp;
	struct dirent *de;
	size_t count = 0;
	DIR *dp;

	*chips = NULL;
	*n = 0;
	if ((dp = opendir(dev_root)) == NULL) {
		snprintf(why, whylen, "cannot read %s: %s", dev_root,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		struct gpio_chip_desc *d;
		char path[4096];

		if (!is_chip_name(de->d_name) ||
		    strlen(de->d_name) >= GPIO_NAME_MAX)
			continue;
		if ((tmp = reallocarray(list, count + 1, sizeof(*list))) ==
		    NULL)
			break;
		list = tmp;
		d = &list[count++];
		memset(d, 0, sizeof(*d));
		snprintf(d->name, sizeof(d->name), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dev_root, de->d_name);
		/* Kept when it fails: "found but cannot open" is worth
		 * saying. */
		if (gpio_chip_probe(path, d) == -1) {
			d->open_errno = errno != 0 ? errno : EIO;
			if (d->open_errno == ENODEV)
				d->open_errno = ENOTTY;
		}
	}
	closedir(dp);
	if (count > 1)
		qsort(list, count, sizeof(*list), cmp_chip);
	*chips = list;
	*n = count;
	return 0;
}
