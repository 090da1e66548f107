/*
 * The serial plugin's pure functions: port settings from the config,
 * the escaping of received bytes, "hex:" bytes to write, and finding
 * lines in what was received.  No state and no I/O, so the unit tests
 * include this file and call them directly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serial.h"

/* Every speed termios has a name for (Linux, glibc). */
static const struct {
	unsigned	 bps;
	speed_t		 code;
} speeds[] = {
	{ 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 },
	{ 150, B150 }, { 200, B200 }, { 300, B300 }, { 600, B600 },
	{ 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 }, { 4800, B4800 },
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
	{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
	{ 460800, B460800 }, { 500000, B500000 }, { 576000, B576000 },
	{ 921600, B921600 }, { 1000000, B1000000 }, { 1152000, B1152000 },
	{ 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
	{ 3000000, B3000000 }, { 3500000, B3500000 }, { 4000000, B4000000 },
};

speed_t
serial_speed_code(unsigned speed)
{
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (speeds[i].bps == speed)
			return speeds[i].code;
	return (speed_t)-1;
}

const char *
serial_flow_word(enum serial_flow flow)
{
	switch (flow) {
	case SERIAL_FLOW_RTSCTS:
		return "rtscts";
	case SERIAL_FLOW_XONXOFF:
		return "xonxoff";
	case SERIAL_FLOW_NONE:
		break;
	}
	return "none";
}

void
serial_framing(const struct serial_settings *s, char *out)
{
	out[0] = (char)('0' + s->data_bits);
	out[1] = s->parity;
	out[2] = (char)('0' + s->stop_bits);
	out[3] = '\0';
}

void
serial_why_errno(int err, char *why, size_t whylen)
{
	char buf[128];

	snprintf(why, whylen, "%s", strerror_r(err, buf, sizeof(buf)));
	errno = err;
}

/*
 * Raw (cfmakeraw: no echo, no line editing, no CR/LF translation, every
 * byte passed through), CLOCAL (a Pi's UART or an Arduino has no carrier
 * line to wait for), the speed and framing, and flow control only when
 * configured.  VMIN 1 and VTIME 0: with O_NONBLOCK, read() then answers
 * EAGAIN when nothing is there and 0 only at a hang-up, where VMIN 0
 * would answer 0 for "nothing" too.
 */
int
serial_termios_make(const struct serial_settings *s, struct termios *tio)
{
	static const tcflag_t sizes[] = { CS5, CS6, CS7, CS8 };
	speed_t code = serial_speed_code(s->speed);

	if (code == (speed_t)-1 || s->data_bits < 5 || s->data_bits > 8) {
		errno = EINVAL;
		return -1;
	}
	cfmakeraw(tio);
	tio->c_cflag |= CLOCAL | CREAD;
	tio->c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB |
	    CRTSCTS);
	tio->c_cflag |= sizes[s->data_bits - 5];
	if (s->parity != 'N')
		tio->c_cflag |= PARENB | (s->parity == 'O' ? PARODD : 0);
	if (s->stop_bits == 2)
		tio->c_cflag |= CSTOPB;
	tio->c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY | INPCK | IGNPAR);
	if (s->flow == SERIAL_FLOW_RTSCTS)
		tio->c_cflag |= CRTSCTS;
	else if (s->flow == SERIAL_FLOW_XONXOFF)
		tio->c_iflag |= IXON | IXOFF;
	/* Check parity, and drop a byte that fails it rather than pass it
	 * on as a 0 byte, termios's default. */
	if (s->parity != 'N')
		tio->c_iflag |= INPCK | IGNPAR;
	tio->c_cc[VMIN] = 1;
	tio->c_cc[VTIME] = 0;
	if (cfsetispeed(tio, code) == -1 || cfsetospeed(tio, code) == -1)
		return -1;
	return 0;
}

int
serial_termios_check(const struct serial_settings *s,
    const struct termios *tio, char *why, size_t whylen)
{
	struct serial_settings got = *s;
	char want[4], have[4];

	if (cfgetospeed(tio) != serial_speed_code(s->speed) ||
	    cfgetispeed(tio) != serial_speed_code(s->speed)) {
		snprintf(why, whylen, "the device does not take %u bit/s",
		    s->speed);
		return -1;
	}
	switch (tio->c_cflag & CSIZE) {
	case CS5: got.data_bits = 5; break;
	case CS6: got.data_bits = 6; break;
	case CS7: got.data_bits = 7; break;
	default: got.data_bits = 8; break;
	}
	got.parity = !(tio->c_cflag & PARENB) ? 'N' :
	    (tio->c_cflag & PARODD) ? 'O' : 'E';
	got.stop_bits = (tio->c_cflag & CSTOPB) ? 2 : 1;
	serial_framing(s, want);
	serial_framing(&got, have);
	if (strcmp(want, have) != 0) {
		snprintf(why, whylen, "the device does not take framing %s "
		    "(it kept %s)", want, have);
		return -1;
	}
	if (s->flow == SERIAL_FLOW_RTSCTS && !(tio->c_cflag & CRTSCTS)) {
		snprintf(why, whylen, "the device does not take rtscts flow "
		    "control");
		return -1;
	}
	return 0;
}

bool
serial_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SERIAL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return false;
	return true;
}

/* "8N1", "7e2": data bits, parity, stop bits. */
static int
parse_framing(const char *w, struct serial_settings *s)
{
	char parity;

	if (strlen(w) != 3 || w[0] < '5' || w[0] > '8' ||
	    (w[2] != '1' && w[2] != '2'))
		return -1;
	parity = (char)toupper((unsigned char)w[1]);
	if (parity != 'N' && parity != 'E' && parity != 'O')
		return -1;
	s->data_bits = (unsigned)(w[0] - '0');
	s->parity = parity;
	s->stop_bits = (unsigned)(w[2] - '0');
	return 0;
}

int
serial_parse_settings(const char *value, struct serial_settings *s,
    char *why, size_t whylen)
{
	char *copy, *words[5], *save = NULL, *w;
	unsigned long long bps;
	char *end;
	int n = 0;

	memset(s, 0, sizeof(*s));
	if ((copy = strdup(value)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (w = strtok_r(copy, " \t", &save); w != NULL && n < 5;
	    w = strtok_r(NULL, " \t", &save))
		words[n++] = w;
	if (n < 3 || n > 4) {
		snprintf(why, whylen, "a port is '<device> <speed> <framing> "
		    "[rtscts|xonxoff]', e.g. '/dev/serial0 9600 8N1', not "
		    "'%s'", value);
		goto fail;
	}
	if (words[0][0] != '/') {
		snprintf(why, whylen, "the device must be an absolute path "
		    "such as /dev/serial0, not '%s'", words[0]);
		goto fail;
	}
	errno = 0;
	bps = isdigit((unsigned char)words[1][0]) ?
	    strtoull(words[1], &end, 10) : 0;
	if (!isdigit((unsigned char)words[1][0]) || *end != '\0' ||
	    errno != 0 || bps > 4000000 ||
	    serial_speed_code((unsigned)bps) == (speed_t)-1) {
		snprintf(why, whylen, "speed '%s' is not one termios has "
		    "(50 to 4000000, e.g. 9600 or 115200)", words[1]);
		goto fail;
	}
	s->speed = (unsigned)bps;
	if (parse_framing(words[2], s) == -1) {
		snprintf(why, whylen, "framing '%s' must be data bits 5 to 8, "
		    "parity N, E or O, and stop bits 1 or 2, e.g. 8N1",
		    words[2]);
		goto fail;
	}
	s->flow = SERIAL_FLOW_NONE;
	if (n == 4) {
		if (strcasecmp(words[3], "rtscts") == 0)
			s->flow = SERIAL_FLOW_RTSCTS;
		else if (strcasecmp(words[3], "xonxoff") == 0)
			s->flow = SERIAL_FLOW_XONXOFF;
		else if (strcasecmp(words[3], "none") != 0) {
			snprintf(why, whylen, "flow control '%s' must be "
			    "rtscts, xonxoff or none", words[3]);
			goto fail;
		}
	}
	if ((s->device = strdup(words[0])) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

long
serial_gap_ms(const struct serial_settings *s)
{
	unsigned bits = 1 + s->data_bits + (s->parity != 'N') + s->stop_bits;
	long ms;

	if (s->speed == 0)
		return 20;
	ms = (long)((3000ULL * bits + s->speed - 1) / s->speed);
	return ms < 20 ? 20 : ms;
}

size_t
serial_escape(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if ((c > ' ' && c < 0x7f) ||
		    (c == ' ' && i > 0 && i + 1 < n)) {
			out[o++] = (char)c;
		} else {
			/* A space at either end too: clients and terminals
			 * drop blanks there. */
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return o;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
serial_parse_hex(const char *const *words, int nwords, unsigned char *out,
    size_t size, size_t *n, char *why, size_t whylen)
{
	size_t got = 0;

	for (int k = 0; k < nwords; k++) {
		const char *p = words[k];

		/* A quoted word may hold blanks: they separate too. */
		while (*p != '\0') {
			const char *tok, *q;
			size_t len;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0')
				break;
			tok = p;
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
			len = (size_t)(p - tok);
			q = tok;
			if (len >= 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
				q += 2;
				len -= 2;
			}
			if (len == 0 || len % 2 != 0) {
				snprintf(why, whylen, "'%.*s' is not whole bytes: "
				    "give pairs of hex digits, e.g. hex:0d0a or "
				    "hex:0x0d 0a", (int)(p - tok), tok);
				return -1;
			}
			for (size_t i = 0; i < len; i += 2) {
				int hi = hexval((unsigned char)q[i]);
				int lo = hexval((unsigned char)q[i + 1]);

				if (hi < 0 || lo < 0) {
					snprintf(why, whylen, "'%.*s' is not hex: "
					    "give pairs of hex digits, e.g. "
					    "hex:0d0a or hex:0x0d 0a",
					    (int)(p - tok), tok);
					return -1;
				}
				if (got == size) {
					snprintf(why, whylen, "more than %zu "
					    "bytes", size);
					return -1;
				}
				out[got++] = (unsigned char)(hi << 4 | lo);
			}
		}
	}
	if (got == 0) {
		snprintf(why, whylen, "hex: needs at least one byte, e.g. "
		    "hex:0d0a");
		return -1;
	}
	*n = got;
	return 0;
}

int
serial_line_next(const unsigned char *buf, size_t len, size_t *start,
    size_t *n, bool *more, size_t *used)
{
	size_t off = 0;

	for (;;) {
		const unsigned char *lf = memchr(buf + off, '\n', len - off);
		size_t content;

		if (lf == NULL) {
			/*
			 * No end in sight: a piece once the line cannot fit,
			 * and only once two bytes past it are there, so that
			 * the rest of the line is never just its CR LF (a
			 * piece must be followed by a non-empty one).
			 */
			if (len - off >= SERIAL_LINE_MAX + 2) {
				*start = off;
				*n = SERIAL_LINE_MAX;
				*more = true;
				*used = off + SERIAL_LINE_MAX;
				return 1;
			}
			*used = off;
			return 0;
		}
		content = (size_t)(lf - (buf + off));
		if (content > 0 && lf[-1] == '\r')
			content--;
		if (content == 0) {
			off = (size_t)(lf - buf) + 1;	/* empty: skipped */
			continue;
		}
		*start = off;
		if (content > SERIAL_LINE_MAX) {
			*n = SERIAL_LINE_MAX;
			*more = true;
			*used = off + SERIAL_LINE_MAX;
		} else {
			*n = content;
			*more = false;
			*used = (size_t)(lf - buf) + 1;
		}
		return 1;
	}
}
