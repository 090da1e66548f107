/*
 * Test harness for plugins: loads a plugin from this build's commands/
 * through the daemon's real loader, with a config written for the test,
 * and runs its commands synchronously the way a worker would.
 */
#ifndef PICMD_TEST_HARNESS_H
#define PICMD_TEST_HARNESS_H

struct harness;

/*
 * Load plugin `name` with `section` as the body of its [name] section (may
 * be NULL) and `system` as the body of [system] (may be NULL, e.g.
 * "sysfs_root = /tmp/x\n").  Returns NULL when loading failed; the load
 * problems are then in harness_last_errors().
 */
struct harness *harness_load(const char *name, const char *section,
	    const char *system);
/*
 * Run one request line ("led set ACT on") as the daemon would: tokenize,
 * look up, check the argument count, run the handler.  Returns the reply
 * line without its newline ("OK", "OK 1", "ERR DEVICE ..."), malloc'd.
 */
char	*harness_run(struct harness *h, const char *line);
void	 harness_free(struct harness *h);
/* Problems reported by the last harness_load(), one per line. */
const char *harness_last_errors(void);

/* Write `content` to dir/relpath, creating directories; 0 on success. */
int	 fixture_write(const char *dir, const char *relpath,
	    const char *content);
/* Read dir/relpath into a malloc'd string, NULL when missing. */
char	*fixture_read(const char *dir, const char *relpath);
/* A fresh empty directory under /tmp, malloc'd; remove with fixture_rm. */
char	*fixture_tmpdir(void);
void	 fixture_rm(char *dir);

#endif
