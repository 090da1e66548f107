/*
 * What the plugins that work through kernel files (led, pwm, w1, sys) have
 * in common, and what gpio, exec and diag share with them: paths built
 * without truncation, attribute files read and written the way the shell
 * does, bounded number parsing, sorted directory listings, the
 * "ERR DEVICE <what> <path>: <strerror>" replies, and the init() steps every
 * plugin repeats.
 *
 * Not a plugin: the Makefile compiles the .c files of commands/common/
 * into every plugin .so, so each has its own private copy.  Nothing here
 * keeps state (handlers run on several worker threads at once); what a
 * helper needs, the plugin's api table included, comes in as arguments.
 */
#ifndef PICMD_COMMON_SYSFS_H
#define PICMD_COMMON_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <picmd/plugin.h>

/* Private to each plugin even when built without -fvisibility=hidden:
 * the only symbol a plugin exports is its descriptor. */
#pragma GCC visibility push(hidden)

/* The number of elements of an array (a plugin's command table). */
#define SYSFS_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * snprintf into a path buffer; 0, or -1 when it does not fit.  A path cut
 * short would name some other file, so callers refuse instead.
 */
int	sysfs_path(char *buf, size_t size, const char *fmt, ...)
	    PICMD_PRINTF(3, 4);

/*
 * What sysfs_read() and sysfs_read_alloc() cut off the end besides
 * newlines: attributes end in "\n", some with a blank before it, and a
 * device-tree string property in the NUL the kernel stores with it.
 */
#define SYSFS_TRIM_SPACES	0x1u	/* trailing ' ' */
#define SYSFS_TRIM_NULS		0x2u	/* trailing '\0' */

/*
 * Read the file at path into buf (NUL-terminated), to EOF: an attribute
 * arrives in one read(), but that is not promised.  Trailing newlines and
 * what `trim` says are cut off.  The length left, or -1 with errno set
 * (EFBIG when the file does not fit in size - 1 bytes).
 */
ssize_t	sysfs_read(const char *path, char *buf, size_t size, unsigned trim);
/*
 * The same into a malloc'd string that grows up to max bytes, for files
 * with no fixed bound (an LED's `trigger` lists every trigger the kernel
 * has).  NULL with errno set (EFBIG past max).
 */
char	*sysfs_read_alloc(const char *path, size_t max, unsigned trim);
/*
 * Write text to the file at path in one write(), as `echo text > path`
 * does: sysfs parses each write on its own, so a value split over two
 * writes would be two values.  0, or -1 with errno set.
 */
int	sysfs_write(const char *path, const char *text);

/* A decimal integer in [min, max], the whole string (strtol's leading
 * blanks and sign allowed).  Kernel files and arguments alike. */
bool	sysfs_parse_long(const char *s, long min, long max, long *out);
/*
 * A decimal number in [0, max], the whole string, digits only: strtoull
 * would also take leading blanks, a sign, and "-1" as ULLONG_MAX.
 */
bool	sysfs_parse_ull(const char *s, unsigned long long max,
	    unsigned long long *out);

/* sysfs_list_names(): the directory did not open (errno says why). */
#define SYSFS_LIST_NODIR	(-1)
/* sysfs_list_names(): out of memory. */
#define SYSFS_LIST_NOMEM	(-2)

/*
 * The names in directory dir, sorted by strcmp so that replies do not
 * depend on readdir()'s order, without hidden entries ('.', '..') and
 * without those that start with skip (may be NULL).  0 with a malloc'd
 * array in *names and its length in *n (free them with sysfs_free_names),
 * or SYSFS_LIST_NODIR or SYSFS_LIST_NOMEM.  Entries are not told apart by
 * type: a sysfs class directory holds symlinks into /sys/devices.
 */
int	sysfs_list_names(const char *dir, const char *skip, char ***names,
	    size_t *n);
void	sysfs_free_names(char **names, size_t n);

/*
 * "ERR DEVICE <what> <path>: <strerror(errno)>" ("read", "write", "stat");
 * without what (NULL), "ERR DEVICE <path>: <strerror(errno)>".  A client
 * sees which file failed and why.
 */
void	sysfs_reply_errno(const struct picmd_api *api, picmd_ctx *ctx,
	    const char *what, const char *path);
/*
 * "ERR DEVICE <path>: unexpected content '<text>'", the text cut to 40
 * bytes: a file that does not hold what its kernel driver writes.
 */
void	sysfs_reply_content(const struct picmd_api *api, picmd_ctx *ctx,
	    const char *path, const char *text);

/*
 * "OK <degrees>" from thousandths, as Celsius with three decimals: the
 * kernel's thermal zones and w1_therm sensors give millidegrees.  -500
 * is "-0.500".
 */
void	sysfs_reply_milli(const struct picmd_api *api, picmd_ctx *ctx,
	    long milli);

/* init(): report every key of the plugin's section, for a plugin that
 * takes no configuration (a typo would otherwise go unnoticed). */
void	sysfs_reject_keys(const struct picmd_api *api, picmd_init *init);
/* init(): register the n commands of cmds; 0, or -1 at the first that
 * fails (already reported). */
int	sysfs_register(const struct picmd_api *api, picmd_init *init,
	    const struct picmd_command *cmds, size_t n);

#pragma GCC visibility pop

#endif
