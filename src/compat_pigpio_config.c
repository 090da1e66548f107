/*
 * [pigpio]: where the pigpio front-end listens, who may connect, which
 * lines it may change, the board revision it reports and which GPIOs
 * have a hardware PWM channel.
 *
 *   listen = 127.0.0.1:8888          (off when absent)
 *   allow = 192.168.1.0/24           (required for a non-loopback listen)
 *   pins = 17 18 27                  (default: every line)
 *   hwver = 0xa02082                 (default: the board's own)
 *   hardware_pwm = 18:0.0 19:0.1     (GPIO:pwmchip.channel)
 *
 * pigpio's protocol has no authentication, so unlike [server] listen a
 * token cannot open it to a network: only an explicit list of client
 * addresses can (docs/PIGPIO.md says what that trades away).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat_pigpio.h"
#include "config.h"
#include "pigpio_wire.h"

static int
parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "18:0.0": GPIO 18 is channel 0 of pwmchip0. */
static int
parse_hwpwm(const char *item, struct pigpio_hwpwm *h)
{
	unsigned long gpio, chip, channel;
	char buf[32], *colon, *dot;

	if (strlen(item) >= sizeof(buf))
		return -1;
	strcpy(buf, item);
	if ((colon = strchr(buf, ':')) == NULL ||
	    (dot = strchr(colon + 1, '.')) == NULL)
		return -1;
	*colon = *dot = '\0';
	if (parse_uint(buf, 10, PG_MAX_GPIO, &gpio) == -1 ||
	    parse_uint(colon + 1, 10, 1023, &chip) == -1 ||
	    parse_uint(dot + 1, 10, 1023, &channel) == -1)
		return -1;
	h->gpio = (unsigned)gpio;
	h->chip = (unsigned)chip;
	h->channel = (unsigned)channel;
	return 0;
}

/* One list item of key into pc; -1 with the reason in msg. */
static int
add_item(struct pigpio_config *pc, const char *key, const char *item,
    char *msg, size_t msglen)
{
	const char *why;
	unsigned long v;

	if (strcmp(key, "listen") == 0) {
		struct endpoint ep, *l;

		if (endpoint_parse(item, &ep, &why) == -1) {
			snprintf(msg, msglen, "bad listen address '%s' in "
			    "[pigpio]: %s", item, why);
			return -1;
		}
		if ((l = reallocarray(pc->listen, (size_t)pc->nlisten + 1,
		    sizeof(*l))) == NULL)
			goto nomem;
		pc->listen = l;
		pc->listen[pc->nlisten++] = ep;
	} else if (strcmp(key, "allow") == 0) {
		struct cidr c, *l;

		if (cidr_parse(item, &c) == -1) {
			snprintf(msg, msglen, "bad address '%s' in [pigpio] "
			    "allow: expected ADDRESS or ADDRESS/BITS", item);
			return -1;
		}
		if ((l = reallocarray(pc->allow, (size_t)pc->nallow + 1,
		    sizeof(*l))) == NULL)
			goto nomem;
		pc->allow = l;
		pc->allow[pc->nallow++] = c;
	} else if (strcmp(key, "pins") == 0) {
		if (parse_uint(item, 10, PG_MAX_GPIO, &v) == -1) {
			snprintf(msg, msglen, "bad pin '%s' in [pigpio] pins: "
			    "expected GPIO numbers 0 to %d", item, PG_MAX_GPIO);
			return -1;
		}
		pc->pins |= 1ULL << v;
	} else if (strcmp(key, "hardware_pwm") == 0) {
		struct pigpio_hwpwm h, *l;

		if (parse_hwpwm(item, &h) == -1) {
			snprintf(msg, msglen, "bad hardware_pwm '%s' in "
			    "[pigpio]: expected GPIO:CHIP.CHANNEL such as "
			    "18:0.0", item);
			return -1;
		}
		for (int i = 0; i < pc->nhwpwm; i++)
			if (pc->hwpwm[i].gpio == h.gpio) {
				snprintf(msg, msglen, "GPIO %u is given twice "
				    "in [pigpio] hardware_pwm", h.gpio);
				return -1;
			}
		if ((l = reallocarray(pc->hwpwm, (size_t)pc->nhwpwm + 1,
		    sizeof(*l))) == NULL)
			goto nomem;
		pc->hwpwm = l;
		pc->hwpwm[pc->nhwpwm++] = h;
	}
	return 0;
nomem:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

int
pigpio_config_set(struct pigpio_config **pcp, const char *key,
    const char *value, char *msg, size_t msglen)
{
	struct pigpio_config *pc = *pcp;
	char *copy, *p, *item;
	unsigned long v;
	int rc = 0;

	if (pc == NULL) {
		if ((pc = calloc(1, sizeof(*pc))) == NULL) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		pc->pins = (1ULL << (PG_MAX_GPIO + 1)) - 1;
		*pcp = pc;
	}
	if (strcmp(key, "hwver") == 0) {
		if (parse_uint(value, 0, UINT32_MAX, &v) == -1) {
			snprintf(msg, msglen, "bad hwver '%s' in [pigpio]: "
			    "expected a revision code such as 0xa02082", value);
			return -1;
		}
		pc->hwver = (uint32_t)v;
		pc->hwver_set = true;
		return 0;
	}
	if (strcmp(key, "pins") == 0)
		pc->pins = 0;	/* the list replaces "every line" */
	if ((copy = strdup(value)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	p = copy;
	while (rc == 0 && (item = strsep(&p, " ,\t")) != NULL)
		if (*item != '\0')
			rc = add_item(pc, key, item, msg, msglen);
	free(copy);
	return rc;
}

int
pigpio_config_check(const struct pigpio_config *pc, char *msg, size_t msglen)
{
	if (pc == NULL || pc->nlisten == 0)
		return 0;
	for (int i = 0; i < pc->nlisten; i++) {
		if (endpoint_is_loopback(&pc->listen[i]) || pc->nallow > 0)
			continue;
		snprintf(msg, msglen, "[pigpio] listen = %s is not a loopback "
		    "address, and pigpio's protocol has no password: list the "
		    "clients that may connect in [pigpio] allow (or listen on "
		    "127.0.0.1 and tunnel it)", pc->listen[i].text);
		return -1;
	}
	return 0;
}

bool
pigpio_config_same(const struct pigpio_config *a,
    const struct pigpio_config *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->nlisten != b->nlisten || a->nallow != b->nallow ||
	    a->nhwpwm != b->nhwpwm || a->pins != b->pins ||
	    a->hwver_set != b->hwver_set || a->hwver != b->hwver)
		return false;
	for (int i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return false;
	return (a->nallow == 0 || memcmp(a->allow, b->allow,
	    (size_t)a->nallow * sizeof(*a->allow)) == 0) &&
	    (a->nhwpwm == 0 || memcmp(a->hwpwm, b->hwpwm,
	    (size_t)a->nhwpwm * sizeof(*a->hwpwm)) == 0);
}

void
pigpio_config_free(struct pigpio_config *pc)
{
	if (pc == NULL)
		return;
	free(pc->listen);
	free(pc->allow);
	free(pc->hwpwm);
	free(pc);
}

/* The device tree's revision: 4 bytes, big-endian. */
static int
revision_from_dt(const char *procfs, uint32_t *rev)
{
	char path[4096];
	unsigned char b[4];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/device-tree/system/linux,revision",
	    procfs);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, b, sizeof(b));
	close(fd);
	if (n != (ssize_t)sizeof(b))
		return -1;
	*rev = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	return 0;
}

/* "Revision\t: a02082" in cpuinfo (older kernels, 32-bit images). */
static int
revision_from_cpuinfo(const char *procfs, uint32_t *rev)
{
	char path[4096], line[256];
	unsigned long v;
	int rc = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cpuinfo", procfs);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (rc == -1 && fgets(line, sizeof(line), fp) != NULL) {
		char *colon = strchr(line, ':'), *val;

		if (strncmp(line, "Revision", 8) != 0 || colon == NULL)
			continue;
		val = colon + 1 + strspn(colon + 1, " \t");
		val[strcspn(val, " \t\r\n")] = '\0';
		if (parse_uint(val, 16, UINT32_MAX, &v) == 0) {
			*rev = (uint32_t)v;
			rc = 0;
		}
	}
	fclose(fp);
	return rc;
}

uint32_t
pigpio_board_revision(const struct config *cfg)
{
	uint32_t rev = 0;

	if (cfg->pigpio != NULL && cfg->pigpio->hwver_set)
		return cfg->pigpio->hwver;
	if (revision_from_dt(cfg->procfs_root, &rev) == 0 ||
	    revision_from_cpuinfo(cfg->procfs_root, &rev) == 0)
		return rev;
	return 0;
}
