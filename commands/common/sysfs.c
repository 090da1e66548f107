/*
 * Helpers the plugins share; sysfs.h says what each does and why.
 * Compiled into every plugin .so, never a plugin of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysfs.h"

int
sysfs_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Read fd to EOF into *buf of *cap bytes, doubling it with realloc() while
 * it is smaller than max (never when *cap == max, so a caller's fixed
 * buffer stays put).  The length, NUL-terminated; -1 with errno set, EFBIG
 * when max - 1 bytes were read and the file goes on.
 */
static ssize_t
read_fd(int fd, char **buf, size_t *cap, size_t max)
{
	size_t len = 0;
	char *tmp;
	ssize_t n;

	for (;;) {
		if (len + 1 == *cap) {
			if (*cap >= max) {
				errno = EFBIG;
				return -1;
			}
			if ((tmp = realloc(*buf, *cap * 2)) == NULL)
				return -1;
			*buf = tmp;
			*cap *= 2;
		}
		n = read(fd, *buf + len, *cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(*buf)[len] = '\0';
	return (ssize_t)len;
}

/* Cut newlines and what trim says off the end of buf[0..len). */
static size_t
trim_end(char *buf, size_t len, unsigned trim)
{
	while (len > 0 && (buf[len - 1] == '\n' ||
	    ((trim & SYSFS_TRIM_SPACES) && buf[len - 1] == ' ') ||
	    ((trim & SYSFS_TRIM_NULS) && buf[len - 1] == '\0')))
		buf[--len] = '\0';
	return len;
}

ssize_t
sysfs_read(const char *path, char *buf, size_t size, unsigned trim)
{
	size_t cap = size;
	ssize_t len;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	len = read_fd(fd, &buf, &cap, size);
	e = errno;
	close(fd);
	if (len == -1) {
		errno = e;
		return -1;
	}
	return (ssize_t)trim_end(buf, (size_t)len, trim);
}

char *
sysfs_read_alloc(const char *path, size_t max, unsigned trim)
{
	size_t cap = max < 4096 ? max : 4096;
	char *buf = NULL;
	ssize_t len = -1;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((buf = malloc(cap)) != NULL)
		len = read_fd(fd, &buf, &cap, max);
	e = errno;
	close(fd);
	if (len == -1) {
		free(buf);
		errno = e;
		return NULL;
	}
	trim_end(buf, (size_t)len, trim);
	return buf;
}

int
sysfs_write(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		return -1;
	do
		n = write(fd, text, len);
	while (n == -1 && errno == EINTR);
	if (n >= 0 && (size_t)n != len) {
		n = -1;
		errno = EIO;
	}
	e = errno;
	/* An error only close() reports (some file systems defer them)
	 * fails the write too. */
	if (close(fd) == -1 && n >= 0)
		return -1;
	errno = e;
	return n < 0 ? -1 : 0;
}

bool
sysfs_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
sysfs_parse_ull(const char *s, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sysfs_list_names(const char *dir, const char *skip, char ***names,
    size_t *n)
{
	size_t skiplen = skip != NULL ? strlen(skip) : 0;
	char **list = NULL, **tmp;
	struct dirent *de;
	size_t count = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return SYSFS_LIST_NODIR;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (skip != NULL && strncmp(de->d_name, skip, skiplen) == 0))
			continue;
		if ((tmp = reallocarray(list, count + 1, sizeof(*list))) ==
		    NULL || (tmp[count] = strdup(de->d_name)) == NULL) {
			if (tmp != NULL)
				list = tmp;
			closedir(dp);
			sysfs_free_names(list, count);
			return SYSFS_LIST_NOMEM;
		}
		list = tmp;
		count++;
	}
	closedir(dp);
	if (count > 0)
		qsort(list, count, sizeof(*list), cmp_name);
	*names = list;
	*n = count;
	return 0;
}

void
sysfs_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void
sysfs_reply_errno(const struct picmd_api *api, picmd_ctx *ctx,
    const char *what, const char *path)
{
	if (what != NULL)
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s %s: %s", what,
		    path, strerror(errno));
	else
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: %s", path,
		    strerror(errno));
}

void
sysfs_reply_content(const struct picmd_api *api, picmd_ctx *ctx,
    const char *path, const char *text)
{
	api->reply_error(ctx, PICMD_ERR_DEVICE, "%s: unexpected content "
	    "'%.40s'", path, text);
}

void
sysfs_reply_milli(const struct picmd_api *api, picmd_ctx *ctx, long milli)
{
	unsigned long a = milli < 0 ? (unsigned long)-milli :
	    (unsigned long)milli;

	api->reply_ok(ctx, "%s%lu.%03lu", milli < 0 ? "-" : "", a / 1000,
	    a % 1000);
}

void
sysfs_reject_keys(const struct picmd_api *api, picmd_init *init)
{
	for (int i = 0; i < api->config_count(init); i++)
		api->config_error(init, api->config_key(init, i),
		    "unknown key '%s'", api->config_key(init, i));
}

int
sysfs_register(const struct picmd_api *api, picmd_init *init,
    const struct picmd_command *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (api->register_command(init, &cmds[i]) == -1)
			return -1;
	return 0;
}
