/*
 * i2c: talk to devices on the I2C buses, as i2c-tools do (i2cdetect,
 * i2ctransfer), through the kernel's i2c-dev (/dev/i2c-N).
 *
 * The hardware is behind backend.h (the kernel's buses, or an in-memory
 * one); this file parses arguments, decides who may touch what, and
 * serialises commands per bus.
 *
 * Locking: one mutex per bus (buslock.h), held for a whole command, so a
 * register read (write the register number, then read) or a scan never
 * interleaves with another client's transaction on the same bus.  The
 * kernel already runs one I2C_RDWR whole; the mutex is what makes the
 * SMBus stand-ins, the simulated device's register pointer and a scan's
 * 117 probes safe too.  A command that cannot get its bus before its
 * deadline answers ERR BUSY.
 *
 * Access: [i2c] allow lists the bus:address pairs that clients without
 * admin rights may use (api->is_admin tells which requests have them);
 * scan is an admin command unless [i2c] scan_admin = false, because its
 * probes write to every address.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <picmd/plugin.h>

#include "backend.h"
#include "buslock.h"
#include "hexbytes.h"
#include "sysfs.h"

#define I2C_ADDR_MIN	0x03	/* 0x00-0x02: general call, CBUS, other buses */
#define I2C_ADDR_MAX	0x77	/* 0x78-0x7f: 10-bit addressing, reserved */
#define I2C_DATA_MAX	255	/* bytes read or written in one command */

struct i2c_pair {
	unsigned	 nr;
	unsigned	 addr;
};

struct i2c_state {
	struct i2c_backend	*be;
	struct buslock_set	*locks;
	struct i2c_pair		*allow;		/* [i2c] allow */
	size_t			 nallow;	/* 0: every pair is open */
	bool			 is_admin;	/* the daemon has api->is_admin */
};

static const struct picmd_api *api;

/* ---- arguments ---- */

/* "1" or "i2c-1". */
static int
parse_bus(picmd_ctx *ctx, const char *arg, unsigned *nr)
{
	unsigned long long v;
	const char *digits = strncasecmp(arg, "i2c-", 4) == 0 ? arg + 4 : arg;

	if (!sysfs_parse_ull(digits, I2C_BUS_MAX, &v)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad bus '%.40s': give "
		    "its number, 0 to %u (i2c buses lists them)", arg,
		    I2C_BUS_MAX);
		return -1;
	}
	*nr = (unsigned)v;
	return 0;
}

static int
parse_addr(picmd_ctx *ctx, const char *arg, unsigned *addr)
{
	unsigned long v;

	if (!hexbytes_parse_number(arg, I2C_ADDR_MAX, &v) ||
	    v < I2C_ADDR_MIN) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad address '%.40s': "
		    "7-bit addresses are 0x%02x to 0x%02x (hex as 0x48, or "
		    "decimal)", arg, I2C_ADDR_MIN, I2C_ADDR_MAX);
		return -1;
	}
	*addr = (unsigned)v;
	return 0;
}

static int
parse_reg(picmd_ctx *ctx, const char *arg, uint8_t *reg)
{
	unsigned long v;

	if (!hexbytes_parse_number(arg, 0xff, &v)) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad register '%.40s': "
		    "registers are 0x00 to 0xff (hex as 0x10, or decimal)",
		    arg);
		return -1;
	}
	*reg = (uint8_t)v;
	return 0;
}

static int
parse_count(picmd_ctx *ctx, const char *arg, size_t *n)
{
	unsigned long v;

	if (!hexbytes_parse_number(arg, I2C_DATA_MAX, &v) || v == 0) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "bad count '%.40s': read "
		    "1 to %d bytes", arg, I2C_DATA_MAX);
		return -1;
	}
	*n = v;
	return 0;
}

static int
parse_data(picmd_ctx *ctx, int argc, const char *const *argv, uint8_t *out,
    size_t max, size_t *n)
{
	char why[160];

	if (hexbytes_parse(argc, argv, out, max, n, why, sizeof(why)) == -1) {
		api->reply_error(ctx, PICMD_ERR_ARGS, "%s", why);
		return -1;
	}
	return 0;
}

/* ---- access ---- */

/* Whether [i2c] allow binds this request: never an admin's. */
static bool
restricted(picmd_ctx *ctx, struct i2c_state *st)
{
	if (st->nallow == 0)
		return false;
	/* A daemon without is_admin cannot tell: allow binds everybody. */
	return !st->is_admin || !api->is_admin(ctx);
}

static bool
allowed(const struct i2c_state *st, unsigned nr, unsigned addr)
{
	for (size_t i = 0; i < st->nallow; i++)
		if (st->allow[i].nr == nr && st->allow[i].addr == addr)
			return true;
	return false;
}

static int
check_allowed(picmd_ctx *ctx, struct i2c_state *st, unsigned nr,
    unsigned addr)
{
	if (!restricted(ctx, st) || allowed(st, nr, addr))
		return 0;
	api->reply_error(ctx, PICMD_ERR_DENIED, "i2c-%u 0x%02x: not in [i2c] "
	    "allow (only an admin may use it)", nr, addr);
	return -1;
}

/* ---- the bus ---- */

static void
reply_open_error(picmd_ctx *ctx, unsigned nr, const char *path, int err)
{
	char buf[128];
	const char *msg = strerror_r(err, buf, sizeof(buf));

	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u: no such bus",
		    nr);
		break;
	case ENOTTY:
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u: %s is not an "
		    "I2C adapter (%s)", nr, path, msg);
		break;
	default:
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u: cannot open "
		    "%s: %s", nr, path, msg);
	}
}

/*
 * What a failed transfer means, after Documentation/i2c/fault-codes.rst:
 * ENXIO and EREMOTEIO are a NAK (the Pi's controller says EREMOTEIO),
 * ENODEV what SMBus-level drivers such as i2c-stub answer for an address
 * with no device, EAGAIN lost arbitration, ETIMEDOUT a stuck bus.
 */
static void
reply_transfer_error(picmd_ctx *ctx, unsigned nr, unsigned addr,
    size_t wlen, size_t rlen, int err)
{
	char buf[128], shape[96];
	const char *msg = strerror_r(err, buf, sizeof(buf));

	switch (err) {
	case ENXIO:
	case EREMOTEIO:
	case ENODEV:
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u 0x%02x: no "
		    "acknowledgement (%s)", nr, addr, msg);
		break;
	case EBUSY:
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u 0x%02x: in use "
		    "by a kernel driver (%s)", nr, addr, msg);
		break;
	case EAGAIN:
		api->reply_error(ctx, PICMD_ERR_BUSY, "i2c-%u 0x%02x: lost "
		    "arbitration to another master (%s)", nr, addr, msg);
		break;
	case ETIMEDOUT:
		api->reply_error(ctx, PICMD_ERR_TIMEOUT, "i2c-%u 0x%02x: the "
		    "bus timed out (%s)", nr, addr, msg);
		break;
	case EOPNOTSUPP:
		if (rlen == 0)
			snprintf(shape, sizeof(shape), "writes %zu bytes", wlen);
		else if (wlen == 0)
			snprintf(shape, sizeof(shape), "reads %zu bytes", rlen);
		else
			snprintf(shape, sizeof(shape), "writes %zu bytes, then "
			    "reads %zu", wlen, rlen);
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u 0x%02x: the "
		    "adapter does SMBus only, and has no SMBus transfer that %s "
		    "(%s)", nr, addr, shape, msg);
		break;
	default:
		api->reply_error(ctx, PICMD_ERR_DEVICE, "i2c-%u 0x%02x: %s", nr,
		    addr, msg);
	}
}

/* Open bus nr and take its mutex; NULL after replying. */
static struct i2c_bus *
bus_begin(picmd_ctx *ctx, struct i2c_state *st, unsigned nr,
    struct buslock **lock)
{
	struct i2c_bus *bus;
	char path[4096];

	if (st->be->ops->open(st->be, nr, &bus, path, sizeof(path)) == -1) {
		reply_open_error(ctx, nr, path, errno);
		return NULL;
	}
	/* Only a bus that opened gets a mutex (buslock.h). */
	if ((*lock = buslock_lock(st->locks, nr, api->remaining_ms(ctx))) ==
	    NULL) {
		if (errno == ENOMEM)
			api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of "
			    "memory");
		else
			api->reply_error(ctx, PICMD_ERR_BUSY, "i2c-%u: busy with "
			    "another command until after this one's deadline",
			    nr);
		st->be->ops->bus_close(bus);
		return NULL;
	}
	return bus;
}

static void
bus_end(struct i2c_state *st, struct i2c_bus *bus, struct buslock *lock)
{
	buslock_unlock(lock);
	st->be->ops->bus_close(bus);
}

/* One transaction, answered with the bytes read (a bare OK for none). */
static void
transact(picmd_ctx *ctx, struct i2c_state *st, unsigned nr, unsigned addr,
    const uint8_t *w, size_t wlen, size_t rlen)
{
	uint8_t r[I2C_DATA_MAX];
	struct buslock *lock;
	struct i2c_bus *bus;
	int rc, err;

	if ((bus = bus_begin(ctx, st, nr, &lock)) == NULL)
		return;
	rc = st->be->ops->transfer(bus, addr, w, wlen, r, rlen);
	err = errno;
	bus_end(st, bus, lock);
	if (rc == -1)
		reply_transfer_error(ctx, nr, addr, wlen, rlen, err);
	else if (rlen > 0)
		hexbytes_reply(api, ctx, r, rlen);
}

/* ---- handlers ---- */

/* Adapter names hold blanks ("bcm2835 (i2c@7e804000)"): one word each. */
static void
clean_name(char *dst, size_t size, const char *src)
{
	size_t i;

	if (src[0] == '\0') {
		snprintf(dst, size, "-");
		return;
	}
	for (i = 0; src[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c <= ' ' || c == 0x7f) ? '_' : (char)c;
	}
	dst[i] = '\0';
}

/* "OK 1:bcm2835_(i2c@7e804000) 20:fef04500.i2c": number:name by number. */
static void
i2c_buses(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct i2c_state *st = api->state(ctx);
	char why[4096], name[I2C_ADAPTER_NAME_MAX];
	struct i2c_bus_info *buses;
	size_t n;

	(void)argc;
	(void)argv;
	if (st->be->ops->list(st->be, &buses, &n, why, sizeof(why)) == -1) {
		sysfs_reply_errno(api, ctx, "read", why);
		return;
	}
	api->reply_ok(ctx, "%s", "");
	for (size_t i = 0; i < n; i++) {
		clean_name(name, sizeof(name), buses[i].name);
		api->reply_append(ctx, "%s%u:%s", i > 0 ? " " : "", buses[i].nr,
		    name);
	}
	free(buses);
}

/* i2cdetect's choice: EEPROMs live in these ranges, and a quick write can
 * corrupt some (i2cdetect(8) names the Atmel AT24RF08): they are read. */
static enum i2c_probe
probe_for(unsigned addr)
{
	if ((addr >= 0x30 && addr <= 0x37) || (addr >= 0x50 && addr <= 0x5f))
		return I2C_PROBE_READ_BYTE;
	return I2C_PROBE_QUICK_WRITE;
}

/*
 * "OK 0x48 0x50:busy": the addresses that acknowledged, and those a kernel
 * driver holds (i2cdetect's UU: not probed).  An adapter that cannot do a
 * probe leaves its addresses out, as i2cdetect skips them.  A client
 * bound by [i2c] allow probes only the addresses it may use.
 */
static void
i2c_scan(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct i2c_state *st = api->state(ctx);
	bool bound = restricted(ctx, st);
	struct buslock *lock;
	struct i2c_bus *bus;
	unsigned nr;
	int rc, found = 0;

	(void)argc;
	if (parse_bus(ctx, argv[0], &nr) == -1 ||
	    (bus = bus_begin(ctx, st, nr, &lock)) == NULL)
		return;
	api->reply_ok(ctx, "%s", "");
	for (unsigned a = I2C_ADDR_MIN; a <= I2C_ADDR_MAX; a++) {
		if (bound && !allowed(st, nr, a))
			continue;
		/* Past the deadline the reply is thrown away: stop. */
		if (api->remaining_ms(ctx) == 0)
			break;
		rc = st->be->ops->probe(bus, a, probe_for(a));
		if (rc == 1)
			api->reply_append(ctx, "%s0x%02x", found++ ? " " : "", a);
		else if (rc == -1 && errno == EBUSY)
			api->reply_append(ctx, "%s0x%02x:busy", found++ ? " " : "",
			    a);
	}
	bus_end(st, bus, lock);
}

/* The bus and address of argv[0..1]. */
static int
parse_target(picmd_ctx *ctx, const char *const *argv, unsigned *nr,
    unsigned *addr)
{
	if (parse_bus(ctx, argv[0], nr) == -1 ||
	    parse_addr(ctx, argv[1], addr) == -1)
		return -1;
	return 0;
}

static void
i2c_read(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct i2c_state *st = api->state(ctx);
	unsigned nr, addr;
	size_t n;

	(void)argc;
	if (parse_target(ctx, argv, &nr, &addr) == -1 ||
	    parse_count(ctx, argv[2], &n) == -1 ||
	    check_allowed(ctx, st, nr, addr) == -1)
		return;
	transact(ctx, st, nr, addr, NULL, 0, n);
}

static void
i2c_readreg(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct i2c_state *st = api->state(ctx);
	unsigned nr, addr;
	uint8_t reg;
	size_t n = 1;

	if (parse_target(ctx, argv, &nr, &addr) == -1 ||
	    parse_reg(ctx, argv[2], &reg) == -1 ||
	    (argc > 3 && parse_count(ctx, argv[3], &n) == -1) ||
	    check_allowed(ctx, st, nr, addr) == -1)
		return;
	transact(ctx, st, nr, addr, &reg, 1, n);
}

static void
i2c_write(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct i2c_state *st = api->state(ctx);
	uint8_t w[I2C_DATA_MAX];
	unsigned nr, addr;
	size_t n;

	if (parse_target(ctx, argv, &nr, &addr) == -1 ||
	    parse_data(ctx, argc - 2, argv + 2, w, sizeof(w), &n) == -1 ||
	    check_allowed(ctx, st, nr, addr) == -1)
		return;
	transact(ctx, st, nr, addr, w, n, 0);
}

static void
i2c_writereg(picmd_ctx *ctx, int argc, const char *const *argv)
{
	struct i2c_state *st = api->state(ctx);
	uint8_t w[1 + I2C_DATA_MAX];
	unsigned nr, addr;
	size_t n;

	if (parse_target(ctx, argv, &nr, &addr) == -1 ||
	    parse_reg(ctx, argv[2], &w[0]) == -1 ||
	    parse_data(ctx, argc - 3, argv + 3, w + 1, I2C_DATA_MAX,
	    &n) == -1 ||
	    check_allowed(ctx, st, nr, addr) == -1)
		return;
	transact(ctx, st, nr, addr, w, 1 + n, 0);
}

static const struct picmd_command commands[] = {
	{ "i2c buses", "i2c buses", 0, 0, 0, i2c_buses },
	{ "i2c read", "i2c read <bus> <addr> <n>", 3, 3, 0, i2c_read },
	{ "i2c readreg", "i2c readreg <bus> <addr> <reg> [n]", 3, 4, 0,
	    i2c_readreg },
	{ "i2c write", "i2c write <bus> <addr> <hex bytes...>", 3,
	    PICMD_ARGS_ANY, 0, i2c_write },
	{ "i2c writereg", "i2c writereg <bus> <addr> <reg> <hex bytes...>", 4,
	    PICMD_ARGS_ANY, 0, i2c_writereg },
};

/* ---- load time ---- */

static void
i2c_fini(void *p)
{
	struct i2c_state *st = p;

	if (st == NULL)
		return;
	if (st->be != NULL)
		st->be->ops->close(st->be);
	buslock_set_free(st->locks);
	free(st->allow);
	free(st);
}

static int
parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcmp(s, "1") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
	    strcmp(s, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* [i2c] allow = 1:0x48 1:0x76, separated by blanks or commas. */
static int
read_allow(picmd_init *init, struct i2c_state *st, const char *value)
{
	char *copy, *item, *save = NULL;
	struct i2c_pair *tmp;
	int bad = 0;

	if ((copy = strdup(value)) == NULL)
		return -1;
	for (item = strtok_r(copy, " \t,", &save); item != NULL;
	    item = strtok_r(NULL, " \t,", &save)) {
		char *colon = strchr(item, ':');
		unsigned long long nr;
		unsigned long addr;

		if (colon != NULL)
			*colon = '\0';
		if (colon == NULL || !sysfs_parse_ull(strncasecmp(item, "i2c-",
		    4) == 0 ? item + 4 : item, I2C_BUS_MAX, &nr) ||
		    !hexbytes_parse_number(colon + 1, I2C_ADDR_MAX, &addr) ||
		    addr < I2C_ADDR_MIN) {
			if (colon != NULL)
				*colon = ':';
			api->config_error(init, "allow", "bad item '%s': give "
			    "bus:address pairs such as 1:0x48 (addresses 0x%02x "
			    "to 0x%02x)", item, I2C_ADDR_MIN, I2C_ADDR_MAX);
			bad++;
			continue;
		}
		if ((tmp = reallocarray(st->allow, st->nallow + 1,
		    sizeof(*tmp))) == NULL) {
			free(copy);
			return -1;
		}
		st->allow = tmp;
		st->allow[st->nallow++] = (struct i2c_pair){ (unsigned)nr,
		    (unsigned)addr };
	}
	free(copy);
	if (bad == 0 && st->nallow == 0) {
		api->config_error(init, "allow", "allow is empty: list "
		    "bus:address pairs, or leave it out to open every pair");
		bad++;
	}
	return bad > 0 ? -1 : 0;
}

/*
 * backend = dev (the default) with no /dev/i2c-* at all is not an error,
 * and not a reason to simulate: on a Pi that means I2C is switched off,
 * and a simulated device answering there would tell a client its writes
 * reached hardware.  The plugin loads, says so, and each command answers
 * "no such bus" until a bus appears (it looks again every time).
 */
static struct i2c_backend *
open_backend(picmd_init *init, const char *backend, const char *dev_root)
{
	struct i2c_backend *be;
	int any;

	if (strcmp(backend, "sim") == 0) {
		if ((be = i2c_sim_open()) == NULL)
			api->log(PICMD_LOG_ERROR, "i2c: out of memory");
		else
			api->log(PICMD_LOG_INFO, "i2c: simulated bus i2c-%d "
			    "with a device at 0x%02x", I2C_SIM_BUS,
			    I2C_SIM_ADDR);
		return be;
	}
	if ((any = i2c_dev_any(dev_root)) == -1) {
		api->config_error(init, api->config_get(init, "dev_root") != NULL ?
		    "dev_root" : NULL, "cannot read %s: %s", dev_root,
		    strerror(errno));
		return NULL;
	}
	if (any == 0)
		api->log(PICMD_LOG_WARN, "i2c: no I2C bus in %s (i2c-N): turn "
		    "I2C on (dtparam=i2c_arm=on in config.txt) and load i2c-dev; "
		    "until a bus appears the i2c commands answer ERR DEVICE",
		    dev_root);
	else
		api->log(PICMD_LOG_INFO, "i2c: the kernel's buses in %s",
		    dev_root);
	if ((be = i2c_dev_open(dev_root, api->sysfs_root(init))) == NULL)
		api->log(PICMD_LOG_ERROR, "i2c: out of memory");
	return be;
}

static int
i2c_init(const struct picmd_api *host, picmd_init *init)
{
	static const char *const keys[] = { "backend", "dev_root", "allow",
	    "scan_admin" };
	struct picmd_command scan = { "i2c scan", "i2c scan <bus>", 1, 1,
	    PICMD_CMD_ADMIN, i2c_scan };
	const char *backend, *dev_root, *v;
	struct i2c_state *st;
	bool scan_admin = true;
	int bad = 0;

	api = host;
	for (int i = 0; i < api->config_count(init); i++) {
		const char *k = api->config_key(init, i);
		size_t j;

		for (j = 0; j < SYSFS_NELEM(keys); j++)
			if (strcmp(k, keys[j]) == 0)
				break;
		if (j == SYSFS_NELEM(keys)) {
			api->config_error(init, k, "unknown key '%s' (known: "
			    "backend, dev_root, allow, scan_admin)", k);
			bad++;
		}
	}
	if ((backend = api->config_get(init, "backend")) == NULL)
		backend = "dev";
	if (strcmp(backend, "dev") != 0 && strcmp(backend, "sim") != 0) {
		api->config_error(init, "backend", "backend must be dev or sim, "
		    "not '%s'", backend);
		bad++;
	}
	if ((dev_root = api->config_get(init, "dev_root")) == NULL)
		dev_root = "/dev";
	if (dev_root[0] != '/') {
		api->config_error(init, "dev_root", "dev_root must be an "
		    "absolute path, not '%s'", dev_root);
		bad++;
	}
	if ((v = api->config_get(init, "scan_admin")) != NULL &&
	    parse_bool(v, &scan_admin) == -1) {
		api->config_error(init, "scan_admin", "scan_admin must be true "
		    "or false, not '%s'", v);
		bad++;
	}
	if (bad > 0)
		return -1;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		api->log(PICMD_LOG_ERROR, "i2c: out of memory");
		return -1;
	}
	/* From here on the loader hands st to fini() if init fails. */
	api->set_state(init, st);
	if ((st->locks = buslock_set_new()) == NULL) {
		api->log(PICMD_LOG_ERROR, "i2c: out of memory");
		return -1;
	}
	st->is_admin = api->size >= offsetof(struct picmd_api, is_admin) +
	    sizeof(api->is_admin);
	if ((v = api->config_get(init, "allow")) != NULL) {
		if (read_allow(init, st, v) == -1)
			return -1;
		if (!st->is_admin)
			api->log(PICMD_LOG_WARN, "i2c: this picmdd cannot tell "
			    "admins from other clients: [i2c] allow binds "
			    "everybody");
	}
	if ((st->be = open_backend(init, backend, dev_root)) == NULL)
		return -1;
	if (!scan_admin)
		scan.flags = 0;
	if (sysfs_register(api, init, commands, SYSFS_NELEM(commands)) == -1 ||
	    api->register_command(init, &scan) == -1)
		return -1;
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "i2c",
	.version = "1.0",
	.init = i2c_init,
	.fini = i2c_fini,
};
