/*
 * Test harness for plugins: loads a plugin from this build's commands/
 * through the daemon's real loader, with a config written for the test,
 * and runs its commands synchronously the way a worker would.
 */
#ifndef PICMD_TEST_HARNESS_H
#define PICMD_TEST_HARNESS_H

#include <stdbool.h>

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
/* harness_run(line) must answer want exactly, or start with it (for long
 * messages); on a mismatch the request is printed before cmocka fails. */
void	 harness_expect(struct harness *h, const char *line, const char *want);
void	 harness_expect_prefix(struct harness *h, const char *line,
	    const char *want);
/* harness_load() that must succeed: prints the load problems and fails
 * the test otherwise. */
struct harness *harness_load_ok(const char *name, const char *section);
/*
 * Whether the requests that follow come with admin rights (api->is_admin);
 * without, PICMD_CMD_ADMIN commands answer "ERR DENIED admin command", as
 * a connection without the admin token is answered (with more advice).
 * Admin by default: like a trusted Unix-socket client, so tests of
 * plugins whose commands are all admin-only need no setup.
 */
void	 harness_set_admin(struct harness *h, int admin);
void	 harness_free(struct harness *h);
/*
 * Give h's plugins what the daemon gives them once it serves: an event
 * loop on a thread of its own that watches their descriptors
 * (api->watch_fd; the callbacks run on one worker thread), and an event
 * bus whose events the test takes with harness_event(); every topic
 * counts as subscribed.  Call it after harness_load(); harness_free()
 * stops it before the plugins' fini, as the daemon does.  0 or -1.
 */
int	 harness_events(struct harness *h);
/* The next event published, "topic payload", waiting at most ms; NULL
 * when none came in time.  malloc'd. */
char	*harness_event(struct harness *h, long ms);
/* Problems reported by the last harness_load(), one per line. */
const char *harness_last_errors(void);
/*
 * harness_load() with [system] pointing into a fixture_copy() tree:
 * sysfs_root = root/sysfs, procfs_root = root/procfs.
 */
struct harness *harness_load_fixture(const char *name, const char *section,
	    const char *root);

/* Write `content` to dir/relpath, creating directories; 0 on success. */
int	 fixture_write(const char *dir, const char *relpath,
	    const char *content);
/* Read dir/relpath into a malloc'd string, NULL when missing. */
char	*fixture_read(const char *dir, const char *relpath);
/* A fresh empty directory under /tmp, malloc'd; remove with fixture_rm. */
char	*fixture_tmpdir(void);
void	 fixture_rm(char *dir);
/*
 * A fresh fixture_tmpdir() holding private copies of the named trees of
 * tests/fixtures (a NULL-terminated list: "sysfs", "procfs", NULL), so that
 * a test may change them.  NULL when the copy failed.
 */
char	*fixture_copy(const char *name, ...) __attribute__((sentinel));
/*
 * fmt with each "%T" replaced by dir, malloc'd: the reply a test expects
 * when it names a file of its fixture_copy() tree.
 */
char	*fixture_subst(const char *fmt, const char *dir);

/* Run a shell command made with printf's fmt; it must exit 0 (cmocka). */
void	 fixture_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether ioctl request on the plain file path fails as a kernel fails
 * it (ENOTTY), not as qemu-user does with a request it does not know
 * (ENOSYS): the cross tests run under it. */
bool	 ioctl_is_passed_on(const char *path, unsigned long request);

/*
 * A plugin on private copies of tests/fixtures/sysfs and procfs, which its
 * test may change (the led, pwm, w1 and sys tests).  The fx_ functions
 * check with cmocka: a failure fails the test that called them.
 */
struct fx {
	char		*tmp;	/* fixture_copy("sysfs", "procfs") */
	struct harness	*h;	/* the plugin, its roots in tmp */
};

/* Copy the trees and load plugin with section (may be NULL). */
struct fx *fx_load(const char *plugin, const char *section);
/* A cmocka teardown for a state that fx_load() made: frees it all. */
int	 fx_teardown(void **state);
/* Run line; the reply must be want. */
void	 fx_expect(struct fx *fx, const char *line, const char *want);
/* The same for a reply that names a file of the copy: %T in want_fmt
 * stands for fx->tmp. */
void	 fx_expect_t(struct fx *fx, const char *line, const char *want_fmt);
/* tmp/rel must hold want. */
void	 fx_expect_file(struct fx *fx, const char *rel, const char *want);

#endif
