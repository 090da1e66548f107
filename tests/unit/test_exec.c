/*
 * The exec plugin, loaded through the real loader, running the small
 * scripts in tests/fixtures/exec/.  Besides the replies, these tests check
 * what must not be left behind: zombies, live processes of a killed
 * command's process group, leaked descriptors and signal masks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dispatch.h"
#include "harness.h"
#include "plugin.h"

#define FX(name) TEST_FIXTURES "/exec/" name

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No child of this process is left, not even a zombie. */
static void
assert_no_children(void)
{
	int status;

	errno = 0;
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/*
 * Is pid alive, or with pid == 0 any process of group pgid?  A zombie
 * does not count: orphans are reaped by init, which in a container may
 * never happen.
 */
static int
alive(pid_t pid, pid_t pgid)
{
	struct dirent *de;
	DIR *dp;
	int found = 0;

	assert_non_null(dp = opendir("/proc"));
	while (!found && (de = readdir(dp)) != NULL) {
		char path[300], buf[512], *p, state;
		long ppid, pgrp;
		FILE *fp;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    (pid != 0 && atol(de->d_name) != (long)pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 &&
		    (pid != 0 || pgrp == (long)pgid) && state != 'Z' &&
		    state != 'X')
			found = 1;
		fclose(fp);
	}
	closedir(dp);
	return found;
}

static pid_t
read_pid(const char *dir, const char *file)
{
	char *s = fixture_read(dir, file);
	pid_t pid;

	assert_non_null(s);
	pid = (pid_t)atol(s);
	free(s);
	assert_true(pid > 1);
	return pid;
}

/*
 * The script whose pids are in dir is gone, with its child and its whole
 * process group; wait up to 2 s, as a SIGKILL is not instantaneous.
 */
static void
assert_script_gone(const char *dir)
{
	pid_t pid = read_pid(dir, "pid"), child = read_pid(dir, "child");
	long until = now_ms() + 2000;

	while ((alive(child, 0) || alive(0, pid)) && now_ms() < until)
		usleep(10000);
	assert_false(alive(child, 0));
	assert_false(alive(0, pid));
}

static void
test_ok_output(void **state)
{
	struct harness *h = harness_load("exec",
	    "args = " FX("echo-args.sh") " fixed\n"
	    "bare = " FX("echo-args.sh") "\n"
	    "lines = " FX("lines.sh") "\n", NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "args", "OK [fixed]");
	harness_expect(h, "#7 ARGS one two", "#7 OK [fixed][one][two]");
	/* An empty first line is a bare OK. */
	harness_expect(h, "bare", "OK");
	/* First line only, without its CRLF and trailing blanks. */
	harness_expect(h, "lines", "OK first line");
	harness_free(h);
	assert_no_children();
}

/*
 * stdin is /dev/null whatever the daemon's is: give this process a pipe
 * that never ends as stdin, which an inheriting child would hang on.
 */
static void
test_stdin(void **state)
{
	struct harness *h = harness_load("exec", "timeout_ms = 2000\n"
	    "stdin = " FX("stdin.sh") "\n", NULL);
	int p[2], saved;

	(void)state;
	assert_non_null(h);
	assert_int_equal(pipe(p), 0);
	assert_true((saved = dup(0)) >= 0);
	assert_int_equal(dup2(p[0], 0), 0);
	/* cat reads end of file at once instead of hanging. */
	harness_expect(h, "stdin", "OK /dev/null");
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	close(p[0]);
	close(p[1]);
	harness_free(h);
	assert_no_children();
}

static void
test_no_shell(void **state)
{
	struct harness *h = harness_load("exec",
	    "args = " FX("echo-args.sh") "\n", NULL);

	(void)state;
	assert_non_null(h);
	/* Every word arrives verbatim: no expansion, splitting or globbing. */
	harness_expect(h, "args \"a b\" $(id) ; `id` $HOME * 'q' \"x\\\"y\" |",
	    "OK [a b][$(id)][;][`id`][$HOME][*]['q'][x\"y][|]");
	harness_expect(h, "args \"\" \"tab\\there\"", "OK [][tab here]");
	harness_free(h);
	assert_no_children();
}

static void
test_fixed_args(void **state)
{
	struct harness *h = harness_load("exec",
	    "q = " FX("echo-args.sh") " \"a b\" \"c\\\"d\" plain \"\"\n"
	    "c = " FX("echo-args.sh") " kept ; an inline comment\n"
	    "fan on = " FX("echo-args.sh") " on\n"
	    "cpu.temp = " FX("echo-args.sh") " temp\n", NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "q", "OK [a b][c\"d][plain][]");
	harness_expect(h, "q x", "OK [a b][c\"d][plain][][x]");
	harness_expect(h, "c", "OK [kept]");
	/* Multi-word names, written with a space or a dot. */
	harness_expect(h, "fan on 3", "OK [on][3]");
	harness_expect(h, "FAN ON", "OK [on]");
	harness_expect(h, "cpu temp", "OK [temp]");
	harness_free(h);
}

static void
test_output_limit(void **state)
{
	struct harness *h = harness_load("exec",
	    "max_output = 100\n"
	    "huge = " FX("huge.sh") "\n", NULL);
	char want[200], *got;

	(void)state;
	assert_non_null(h);
	/* 1 MiB on each pipe: cut to 100 bytes, and no hang. */
	strcpy(want, "OK ");
	memset(want + 3, 'x', 100);
	want[103] = '\0';
	harness_expect(h, "huge", want);
	harness_free(h);

	/* The default keeps 4096 bytes. */
	assert_non_null(h = harness_load("exec", "huge = " FX("huge.sh"), NULL));
	got = harness_run(h, "huge");
	assert_int_equal(strlen(got), 3 + 4096);
	assert_int_equal(strspn(got + 3, "x"), 4096);
	free(got);
	harness_free(h);
	assert_no_children();
}

static void
test_utf8_cut(void **state)
{
	struct harness *h;

	(void)state;
	/* "h" + 3 two-byte characters; 4 bytes would split the second. */
	assert_non_null(h = harness_load("exec", "max_output = 4\n"
	    "u = " FX("utf8.sh"), NULL));
	harness_expect(h, "u", "OK h\303\251");
	harness_free(h);
	assert_non_null(h = harness_load("exec", "max_output = 5\n"
	    "u = " FX("utf8.sh"), NULL));
	harness_expect(h, "u", "OK h\303\251\303\251");
	harness_free(h);
}

static void
test_failures(void **state)
{
	struct harness *h = harness_load("exec",
	    "fail = " FX("fail.sh") "\n"
	    "quiet = " FX("fail-quiet.sh") "\n"
	    "killed = " FX("kill-self.sh") "\n", NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "fail", "ERR DEVICE sensor not found");
	harness_expect(h, "quiet", "ERR DEVICE exited with status 7");
	harness_expect(h, "killed", "ERR DEVICE killed by signal 9 (SIGKILL)");
	harness_free(h);
	assert_no_children();
}

static void
test_spawn_failure(void **state)
{
	char *dir = fixture_tmpdir(), *section, *path;
	struct harness *h;

	(void)state;
	/* Valid when loaded, gone when run. */
	assert_int_equal(fixture_write(dir, "prog", "#!/bin/sh\necho hi\n"), 0);
	assert_true(asprintf(&path, "%s/prog", dir) > 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_true(asprintf(&section, "gone = %s\n", path) > 0);
	assert_non_null(h = harness_load("exec", section, NULL));
	harness_expect(h, "gone", "OK hi");
	assert_int_equal(unlink(path), 0);
	free(section);
	assert_true(asprintf(&section, "ERR DEVICE cannot run %s: No such "
	    "file or directory", path) > 0);
	/* qemu-user (make test ARCH=..., docs/CROSS.md) runs posix_spawn's
	 * CLONE_VM|CLONE_VFORK child as a plain fork, so the exec error
	 * cannot reach the parent: the child exits 127 instead. */
	if (getenv("PICMD_TEST_EMULATOR") != NULL)
		harness_expect(h, "gone", "ERR DEVICE exited with status 127");
	else
		harness_expect(h, "gone", section);
	harness_free(h);
	free(section);
	free(path);
	fixture_rm(dir);
	assert_no_children();
}

static void
test_timeout(void **state)
{
	char *dir = fixture_tmpdir(), *line;
	struct harness *h = harness_load("exec",
	    "timeout_ms = 200\n"
	    "sleepy = " FX("sleepy.sh") "\n"
	    "mute = " FX("mute.sh") "\n", NULL);
	long t0, took;

	(void)state;
	assert_non_null(h);
	assert_true(asprintf(&line, "sleepy %s", dir) > 0);
	t0 = now_ms();
	harness_expect(h, line, "ERR TIMEOUT sleepy timed out after 200 ms");
	took = now_ms() - t0;
	/* SIGTERM worked, so no wait for the SIGKILL grace period. */
	assert_true(took >= 190);
	assert_true(took < 650);
	assert_no_children();
	/* The script's own child (sleep 30) went with it. */
	assert_script_gone(dir);

	/* Output closed early is not the end: the timeout still applies. */
	t0 = now_ms();
	harness_expect(h, "mute", "ERR TIMEOUT mute timed out after 200 ms");
	assert_true(now_ms() - t0 < 650);
	assert_no_children();
	harness_free(h);
	free(line);
	fixture_rm(dir);
}

static void
test_sigkill(void **state)
{
	char *dir = fixture_tmpdir(), *line;
	struct harness *h = harness_load("exec",
	    "timeout_ms = 100\n"
	    "stubborn = " FX("stubborn.sh") "\n", NULL);
	long t0, took;

	(void)state;
	assert_non_null(h);
	assert_true(asprintf(&line, "stubborn %s", dir) > 0);
	t0 = now_ms();
	harness_expect(h, line, "ERR TIMEOUT stubborn timed out after 100 ms");
	took = now_ms() - t0;
	/* SIGTERM was ignored: the 500 ms grace, then SIGKILL. */
	assert_true(took >= 550);
	assert_true(took < 2000);
	assert_no_children();
	assert_script_gone(dir);
	harness_free(h);
	free(line);
	fixture_rm(dir);
}

static void
test_inheritance(void **state)
{
	struct harness *h = harness_load("exec",
	    "inherit = " FX("inherit.sh") "\n", NULL);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe, old_usr1;
	sigset_t all, old_mask;
	unsigned long long blk, ignored;
	char fd77[16], *got;
	int fd;

	(void)state;
	assert_non_null(h);
	/* Look like a worker of the daemon: every signal blocked, SIGPIPE
	 * ignored, and a descriptor without O_CLOEXEC lying around. */
	assert_true((fd = open("/dev/null", O_RDONLY)) >= 0);
	assert_int_equal(dup2(fd, 77), 77);
	close(fd);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigaction(SIGUSR1, &ign, &old_usr1);
	got = harness_run(h, "inherit");
	/* Restore before any assert can return from the test. */
	sigaction(SIGUSR1, &old_usr1, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	close(77);
	harness_free(h);
	assert_int_equal(sscanf(got, "OK blk=%llx ign=%llx fd77=%15s", &blk,
	    &ignored, fd77), 3);
	free(got);
	assert_true(blk == 0);
	/*
	 * Signals 1-31 only: glibc's posix_spawn leaves its two internal
	 * signals (32, 33) ignored, which no program can use anyway.
	 */
	assert_true((ignored & 0x7fffffffULL) == 0);
	assert_string_equal(fd77, "closed");
}

/* With SIGCHLD ignored the kernel reaps children: say so, do not hang. */
static void
test_sigchld_ignored(void **state)
{
	struct harness *h = harness_load("exec",
	    "args = " FX("echo-args.sh") "\n", NULL);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	char *got;

	(void)state;
	assert_non_null(h);
	sigaction(SIGCHLD, &ign, &old);
	got = harness_run(h, "args");
	sigaction(SIGCHLD, &old, NULL);	/* before any assert can return */
	assert_string_equal(got, "ERR INTERNAL args: exit status lost (is "
	    "SIGCHLD ignored?)");
	free(got);
	harness_free(h);
	assert_no_children();
}

struct par {
	struct harness	*h;
	int		 n;
	char		*reply;
};

static void *
par_run(void *arg)
{
	struct par *p = arg;
	char line[32];

	snprintf(line, sizeof(line), "slow %d", p->n);
	p->reply = harness_run(p->h, line);
	return NULL;
}

/* Runs on several threads at once each get their own child's answer. */
static void
test_parallel(void **state)
{
	struct harness *h = harness_load("exec",
	    "slow = " FX("slow.sh") "\n", NULL);
	struct par p[4];
	pthread_t t[4];
	char want[32];
	long t0;

	(void)state;
	assert_non_null(h);
	harness_expect(h, "slow x", "OK done x");	/* settles the table first */
	t0 = now_ms();
	for (int i = 0; i < 4; i++) {
		p[i].h = h;
		p[i].n = i;
		assert_int_equal(pthread_create(&t[i], NULL, par_run, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		snprintf(want, sizeof(want), "OK done %d", i);
		assert_string_equal(p[i].reply, want);
		free(p[i].reply);
	}
	/* 4 x 0.3 s one after another would take 1.2 s. */
	assert_true(now_ms() - t0 < 1000);
	harness_free(h);
	assert_no_children();
}

static void
expect_load_error(const char *section, const char *want)
{
	struct harness *h = harness_load("exec", section, NULL);

	if (h != NULL)
		harness_free(h);
	assert_null(h);
	if (strstr(harness_last_errors(), want) == NULL)
		fail_msg("want '%s' in:\n%s", want, harness_last_errors());
}

static void
test_config_errors(void **state)
{
	(void)state;
	expect_load_error("x = bin/true", "picmd.ini:5: [exec] x: program "
	    "'bin/true' must be an absolute path");
	expect_load_error("x = /nonexistent/prog -v", "picmd.ini:5: [exec] x: "
	    "program /nonexistent/prog: No such file or directory");
	expect_load_error("x = " FX("not-executable.sh"), "picmd.ini:5: "
	    "[exec] x: program " FX("not-executable.sh") " is not an "
	    "executable file");
	expect_load_error("x = /tmp", "picmd.ini:5: [exec] x: program /tmp "
	    "is not an executable file");
	expect_load_error("x =", "picmd.ini:5: [exec] x: no program given");
	expect_load_error("x = /bin/echo \"open", "picmd.ini:5: [exec] x: "
	    "unterminated quote");
	expect_load_error("x = /bin/echo a\"b\"", "picmd.ini:5: [exec] x: "
	    "quote inside a word");
	expect_load_error("bad!name = /bin/true", "picmd.ini:5: [exec] bad "
	    "command name 'bad!name'");
	expect_load_error("a b c d e = /bin/true", "picmd.ini:5: [exec] bad "
	    "command name 'a b c d e'");
	expect_load_error("timeout_ms = 0", "picmd.ini:5: [exec] timeout_ms "
	    "must be a whole number from 1 to 600000");
	expect_load_error("timeout_ms = 5s", "picmd.ini:5: [exec] timeout_ms "
	    "must be a whole number from 1 to 600000");
	expect_load_error("max_output = 0", "picmd.ini:5: [exec] max_output "
	    "must be a whole number from 1 to 65536");
	expect_load_error("x = /bin/true\npublic = x y", "picmd.ini:6: [exec] "
	    "'y' is not a command of this section");
	/* Two names for one command: the second line is named. */
	expect_load_error("Temp = /bin/true\ntemp = /bin/true", "picmd.ini:6: "
	    "[exec] cannot add command 'temp'");
	/* A bad command listed in "public" is reported once, not twice. */
	expect_load_error("x = rel\npublic = x", "picmd.ini:5: [exec] x:");
	assert_null(strstr(harness_last_errors(), "picmd.ini:6"));
	/* Every bad line is reported, not just the first. */
	expect_load_error("x = rel\ny = /nonexistent", "picmd.ini:5: [exec] x:");
	expect_load_error("x = rel\ny = /nonexistent", "picmd.ini:6: [exec] y:");
}

static void
report_fail(void *arg, const char *msg)
{
	(void)arg;
	fail_msg("unexpected config problem: %s", msg);
}

/*
 * Commands need the admin credential unless listed in "public".  The
 * harness hides the dispatch table, so load it here the same way.
 */
static void
test_flags(void **state)
{
	char *dir = fixture_tmpdir(), *path;
	struct config *cfg;
	struct dispatch *d;
	struct plugins *ps;
	const struct command *c;

	(void)state;
	assert_true(asprintf(&path, "%s/picmd.ini", dir) > 0);
	assert_int_equal(fixture_write(dir, "picmd.ini",
	    "[plugins]\ndir = " TEST_PLUGIN_DIR "\nload = exec\n[exec]\n"
	    "a = /bin/true\nb = /bin/true\nfan on = /bin/true\n"
	    "public = b, fan.on\n"), 0);
	assert_int_equal(config_load(path, &cfg, report_fail, NULL), 0);
	assert_non_null(d = dispatch_new());
	assert_int_equal(plugins_load(cfg, d, &ps, report_fail, NULL), 0);
	assert_non_null(c = dispatch_find(d, "a"));
	assert_int_equal(c->flags, PICMD_CMD_ADMIN);
	assert_string_equal(c->usage, "a [arg...]");
	assert_int_equal(c->min_args, 0);
	assert_int_equal(c->max_args, PICMD_ARGS_ANY);
	assert_non_null(c = dispatch_find(d, "b"));
	assert_int_equal(c->flags, 0);
	assert_non_null(c = dispatch_find(d, "fan on"));
	assert_int_equal(c->flags, 0);
	assert_null(dispatch_find(d, "public"));
	assert_null(dispatch_find(d, "timeout_ms"));
	plugins_unload(ps);
	dispatch_free(d);
	config_free(cfg);
	free(path);
	fixture_rm(dir);
}

/* No [exec] section: the plugin loads and adds nothing. */
static void
test_empty(void **state)
{
	struct harness *h = harness_load("exec", NULL, NULL);

	(void)state;
	assert_non_null(h);
	harness_expect(h, "x", "ERR UNKNOWN unknown");
	harness_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_output),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_no_shell),
		cmocka_unit_test(test_fixed_args),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_spawn_failure),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_sigkill),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_sigchld_ignored),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
