/*
 * Which GPIO chip does "[gpio] chip = ..." mean?  Pure: it sees only the
 * list a scan produced, so the tests can hand it the chips of a Pi 3, a
 * Pi 4, both Pi 5 numberings, or a PC, without any hardware.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/*
 * The chips that carry a Raspberry Pi's 40-pin header, most preferred
 * first.  Chip numbers are not stable (Pi 5 kernels moved the RP1 from
 * gpiochip4 to gpiochip0 in 6.6.y), labels are, so auto goes by label.
 *  - pinctrl-rp1: Pi 5, Pi 500, CM5 - the header is on the RP1 south
 *    bridge.  The BCM2712's own GPIO blocks are labelled gpio-brcmstb@...
 *    and carry no header pins, which is why no bcm2712 label is here.
 *  - pinctrl-bcm2711: Pi 4, Pi 400, CM4 (58 lines).
 *  - pinctrl-bcm2835: Pi 1-3, Zero, Zero 2 W, CM1-3 (54 lines; the
 *    BCM2836/7 use the same driver and label).
 * Preference by table order matters only on a machine that has two of
 * them, which no Pi has; it keeps the choice deterministic anyway.
 */
const char *const gpio_pi_header_labels[] = {
	"pinctrl-rp1",
	"pinctrl-bcm2711",
	"pinctrl-bcm2835",
	NULL,
};

/* "gpiochip12" or "12" -> 12; -1 when spec is neither. */
static long
chip_number(const char *spec)
{
	const char *p = spec;
	char *end;
	long n;

	if (strncmp(p, "gpiochip", 8) == 0)
		p += 8;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > 100000)
		return -1;
	return n;
}

/* Why a chip did not open, in words a user can act on. */
static const char *
open_error(int err)
{
	/* libgpiod answers ENOTTY for anything that is not a gpiochip. */
	return err == ENOTTY ? "not a GPIO character device" : strerror(err);
}

/* "gpiochip0 [pinctrl-bcm2711] (58 lines), gpiochip1 [...] ..." */
static void
describe(const struct gpio_chip_desc *chips, size_t n, char *buf,
    size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w;

		if (chips[i].open_errno != 0)
			w = snprintf(buf + used, len - used, "%s%s (%s)",
			    i > 0 ? ", " : "", chips[i].name,
			    open_error(chips[i].open_errno));
		else
			w = snprintf(buf + used, len - used, "%s%s [%s] "
			    "(%u lines)", i > 0 ? ", " : "", chips[i].name,
			    chips[i].label, chips[i].nlines);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int
gpio_chip_select(const struct gpio_chip_desc *chips, size_t n,
    const char *spec, char *why, size_t whylen)
{
	char found[512];
	long num;

	why[0] = '\0';
	if (spec == NULL || spec[0] == '\0') {
		snprintf(why, whylen, "chip must be auto, gpiochipN or a "
		    "chip label");
		return GPIO_SELECT_ERROR;
	}
	describe(chips, n, found, sizeof(found));

	if (strcmp(spec, "auto") == 0) {
		if (n == 0)
			return GPIO_SELECT_NONE;
		for (size_t l = 0; gpio_pi_header_labels[l] != NULL; l++)
			for (size_t i = 0; i < n; i++)
				if (chips[i].open_errno == 0 &&
				    strcmp(chips[i].label,
				    gpio_pi_header_labels[l]) == 0)
					return (int)i;
		/*
		 * Chips exist but none is a Pi header: never drive an
		 * unknown chip (a PC's pinctrl) on a guess, and never
		 * simulate silently where the user may expect hardware.
		 */
		snprintf(why, whylen, "chip = auto found no Raspberry Pi "
		    "header chip (pinctrl-rp1, pinctrl-bcm2711 or "
		    "pinctrl-bcm2835) among: %s; name one with chip = "
		    "gpiochipN, or set backend = sim", found);
		return GPIO_SELECT_ERROR;
	}

	if ((num = chip_number(spec)) >= 0) {
		char name[GPIO_NAME_MAX];

		snprintf(name, sizeof(name), "gpiochip%ld", num);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(chips[i].name, name) != 0)
				continue;
			if (chips[i].open_errno != 0) {
				snprintf(why, whylen, "cannot open %s: %s",
				    name, open_error(chips[i].open_errno));
				return GPIO_SELECT_ERROR;
			}
			return (int)i;
		}
		snprintf(why, whylen, "no GPIO chip %s (found: %s)", name,
		    n > 0 ? found : "none");
		return GPIO_SELECT_ERROR;
	}

	for (size_t i = 0; i < n; i++)
		if (chips[i].open_errno == 0 &&
		    strcmp(chips[i].label, spec) == 0)
			return (int)i;
	snprintf(why, whylen, "no GPIO chip labelled '%s' (found: %s)", spec,
	    n > 0 ? found : "none");
	return GPIO_SELECT_ERROR;
}
