/*
 * Unit tests for src/config.c: each test writes a temporary INI file,
 * loads it and checks the resulting struct config, or the problems
 * reported as "FILE:LINE: message".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define MAX_MSGS 16

static char path[64];		/* the temporary config file */
static char *msgs[MAX_MSGS];	/* problems reported by config_load() */
static int nmsgs;
static struct config *cfg;

static void
collect(void *arg, const char *msg)
{
	assert_ptr_equal(arg, &nmsgs);
	if (nmsgs < MAX_MSGS)
		msgs[nmsgs] = strdup(msg);
	nmsgs++;
}

static int
cleanup(void **state)
{
	for (int i = 0; i < nmsgs && i < MAX_MSGS; i++)
		free(msgs[i]);
	nmsgs = 0;
	config_free(cfg);
	cfg = NULL;
	if (path[0] != '\0')
		unlink(path);
	path[0] = '\0';
	return 0;
}

/* Write text to a fresh temporary file and load it; config_load's rc. */
static int
load(const char *text)
{
	size_t len = strlen(text);
	int fd;

	cleanup(NULL);
	snprintf(path, sizeof(path), "/tmp/picmd-test-XXXXXX");
	assert_int_not_equal(fd = mkstemp(path), -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return config_load(path, &cfg, collect, &nmsgs);
}

/* The file must load without any problem. */
static void
load_ok(const char *text)
{
	if (load(text) != 0)
		fail_msg("config rejected: %s", nmsgs > 0 ? msgs[0] : "?");
	assert_int_equal(nmsgs, 0);
	assert_non_null(cfg);
}

/* Problem i must read "PATH:LINE: ..." and contain part. */
static void
expect_msg(int i, int line, const char *part)
{
	char prefix[96];

	assert_true(i < nmsgs);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(msgs[i], prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", msgs[i], prefix);
	if (strstr(msgs[i], part) == NULL)
		fail_msg("'%s' does not mention '%s'", msgs[i], part);
}

/* The file must be refused with exactly one problem, on line. */
static void
expect_one_error(const char *text, int line, const char *part)
{
	assert_int_equal(load(text), -1);
	assert_null(cfg);
	if (nmsgs != 1)
		fail_msg("%d problems reported for '%s', expected 1 (first: "
		    "%s)", nmsgs, text, nmsgs > 0 ? msgs[0] : "-");
	expect_msg(0, line, part);
}

static void
test_defaults(void **state)
{
	load_ok("; nothing but a comment\n\n# and another\n");
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->dir, "/tmp");
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:15769");
	assert_int_equal(cfg->listen[0].family, AF_INET);
	assert_int_equal(cfg->workers, config_default_workers());
	assert_true(cfg->workers >= 1);
	assert_int_equal(cfg->queue, 1024);
	assert_int_equal(cfg->max_line, 4096);
	assert_int_equal(cfg->command_timeout_ms, 10000);
	assert_int_equal(cfg->max_clients, 1024);
	assert_int_equal(cfg->idle_timeout_s, 0);
	assert_int_equal(cfg->drain_timeout_s, 5);
	assert_string_equal(cfg->plugin_dir, PICMD_PLUGIN_DIR);
	assert_null(cfg->load);		/* every .so in the dir */
	assert_int_equal(cfg->nload, 0);
	assert_int_equal(cfg->log_level, PICMD_LOG_INFO);
	assert_int_equal(cfg->nsections, 0);

	load_ok("");
	assert_int_equal(cfg->nlisten, 1);
}

static void
test_every_key(void **state)
{
	load_ok("[server]\n"
	    "listen = 127.0.0.1:1\n"
	    "workers = 3\n"
	    "queue = 7\n"
	    "max_line = 128\n"
	    "command_timeout_ms = 250\n"
	    "max_clients = 9\n"
	    "idle_timeout_s = 60\n"
	    "max_inflight = 8\n"
	    "drain_timeout_s = 2\n"
	    "\n"
	    "[plugins]\n"
	    "dir = /opt/picmd/commands\n"
	    "load = diag, gpio  led\n"
	    "\n"
	    "[log]\n"
	    "level = DEBUG\n"
	    "\n"
	    "[system]\n"
	    "sysfs_root = /tmp/fake/sys\n"
	    "procfs_root = /tmp/fake/proc\n");
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:1");
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->queue, 7);
	assert_int_equal(cfg->max_line, 128);
	assert_int_equal(cfg->command_timeout_ms, 250);
	assert_int_equal(cfg->max_clients, 9);
	assert_int_equal(cfg->idle_timeout_s, 60);
	assert_int_equal(cfg->max_inflight, 8);
	assert_int_equal(cfg->drain_timeout_s, 2);
	assert_string_equal(cfg->plugin_dir, "/opt/picmd/commands");
	assert_int_equal(cfg->nload, 3);
	assert_string_equal(cfg->load[0], "diag");
	assert_string_equal(cfg->load[1], "gpio");
	assert_string_equal(cfg->load[2], "led");
	assert_null(cfg->load[3]);
	assert_int_equal(cfg->log_level, PICMD_LOG_DEBUG);
	assert_string_equal(cfg->sysfs_root, "/tmp/fake/sys");
	assert_string_equal(cfg->procfs_root, "/tmp/fake/proc");
	/* Core sections are not handed to plugins. */
	assert_int_equal(cfg->nsections, 0);
}

static void
test_range_limits_accepted(void **state)
{
	load_ok("[server]\nworkers = 1\nmax_line = 64\nidle_timeout_s = 0\n"
	    "drain_timeout_s = 0\n");
	assert_int_equal(cfg->workers, 1);
	assert_int_equal(cfg->max_line, 64);
	load_ok("[server]\nworkers = 1024\nmax_line = 1048576\n");
	assert_int_equal(cfg->workers, 1024);
	assert_int_equal(cfg->max_line, 1048576);
}

static void
test_listen_lists(void **state)
{
	/* Non-loopback addresses need a token (protected mode). */
	load_ok("[server]\n"
	    "listen = 127.0.0.1:1, [::1]:2 unix:/tmp/p.sock,0.0.0.0:3\t[::]:4\n"
	    "[security]\n"
	    "token = 0123456789abcdef0123456789abcdef\n");
	assert_int_equal(cfg->nlisten, 5);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:1");
	assert_int_equal(cfg->listen[0].family, AF_INET);
	assert_string_equal(cfg->listen[1].text, "[::1]:2");
	assert_int_equal(cfg->listen[1].family, AF_INET6);
	assert_string_equal(cfg->listen[2].text, "unix:/tmp/p.sock");
	assert_int_equal(cfg->listen[2].family, AF_UNIX);
	assert_string_equal(cfg->listen[3].text, "0.0.0.0:3");
	assert_string_equal(cfg->listen[4].text, "[::]:4");

	load_ok("[server]\nlisten = ,, unix:/run/picmd.sock ,\n");
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].text, "unix:/run/picmd.sock");
}

static void
test_listen_errors(void **state)
{
	expect_one_error("[server]\nlisten = 127.0.0.1\n", 2,
	    "bad listen address '127.0.0.1'");
	expect_one_error("[server]\nlisten = 127.0.0.1:1 localhost:2\n", 2,
	    "'localhost:2'");
	expect_one_error("[server]\nlisten = unix:relative.sock\n", 2,
	    "absolute");
	expect_one_error("[server]\nlisten = 127.0.0.1:1, 127.0.0.1:1\n", 2,
	    "twice");
	/* Present but naming no address: nothing to listen on. */
	expect_one_error("[server]\nworkers = 2\nlisten =\n", 3, "listen");
	expect_one_error("[server]\nlisten = , ,\n", 2, "listen");
}

static void
test_unknown_key(void **state)
{
	expect_one_error("[server]\nworkers = 2\nbogus = 1\n", 3,
	    "unknown key 'bogus' in [server]");
	expect_one_error("[log]\nlevel = info\n\n; comment\nfile = /x\n", 5,
	    "unknown key 'file' in [log]");
	expect_one_error("[plugins]\ndirectory = /x\n", 2,
	    "unknown key 'directory' in [plugins]");
	/* Keys are case-sensitive, like the documentation spells them. */
	expect_one_error("[server]\nWorkers = 2\n", 2, "'Workers'");
}

static void
test_bad_integers(void **state)
{
	expect_one_error("[server]\n\nworkers = four\n", 3,
	    "bad value 'four' for workers in [server]");
	expect_one_error("[server]\nqueue = 10x\n", 2, "bad value '10x'");
	expect_one_error("[server]\nqueue = 1.5\n", 2, "bad value '1.5'");
	expect_one_error("[server]\nqueue =\n", 2, "queue");
	expect_one_error("[server]\nmax_clients = 99999999999999999999999\n",
	    2, "max_clients");
}

static void
test_out_of_range(void **state)
{
	expect_one_error("[server]\nworkers = 0\n", 2,
	    "bad value '0' for workers in [server]: expected a whole number "
	    "from 1 to 1024");
	expect_one_error("[server]\nworkers = 1025\n", 2, "1025");
	expect_one_error("[server]\nmax_line = 63\n", 2, "from 64");
	expect_one_error("[server]\nqueue = -1\n", 2, "'-1'");
	expect_one_error("[server]\nidle_timeout_s = -1\n", 2,
	    "idle_timeout_s");
	expect_one_error("[server]\ncommand_timeout_ms = 0\n", 2,
	    "command_timeout_ms");
}

static void
test_bad_log_level(void **state)
{
	expect_one_error("[log]\nlevel = loud\n", 2, "bad log level 'loud'");
	expect_one_error("[log]\nlevel =\n", 2, "bad log level");
}

static void
test_duplicate_key(void **state)
{
	expect_one_error("[server]\nworkers = 2\nqueue = 3\nworkers = 4\n", 4,
	    "duplicate key 'workers' in [server]");
	/* Also when the section is opened a second time. */
	expect_one_error("[log]\nlevel = info\n[server]\nqueue = 3\n[log]\n"
	    "level = debug\n", 6, "duplicate key 'level'");
	expect_one_error("[diag]\nmax = 1\nmax = 2\n", 3,
	    "duplicate key 'max' in [diag]");
}

static void
test_key_outside_section(void **state)
{
	expect_one_error("workers = 2\n[server]\nqueue = 3\n", 1,
	    "key 'workers' outside a section");
	expect_one_error("; header comment\n\nx = 1\n", 3, "outside");
}

static void
test_syntax_error(void **state)
{
	expect_one_error("[server]\nworkers = 2\nthis is not ini\n", 3,
	    "syntax");

	/* An unclosed header is reported on its own line (the keys under
	 * it then sit outside any section, which is reported too). */
	assert_int_equal(load("[server\nworkers = 2\n"), -1);
	for (int i = 0; i < nmsgs; i++)
		if (strstr(msgs[i], ":1: syntax") != NULL)
			return;
	fail_msg("no syntax error reported on line 1");
}

static void
test_long_line(void **state)
{
	char text[600];
	int n;

	/* A line longer than the parser takes is refused, not split, and
	 * line numbers after it stay right. */
	n = snprintf(text, sizeof(text), "[diag]\nk = ");
	memset(text + n, 'v', 300);
	snprintf(text + n + 300, sizeof(text) - (size_t)n - 300,
	    "\n[server]\nbogus = 1\n");
	assert_int_equal(load(text), -1);
	assert_int_equal(nmsgs, 2);
	expect_msg(0, 2, "too long");
	expect_msg(1, 4, "unknown key 'bogus'");
}

static void
test_all_errors_reported(void **state)
{
	assert_int_equal(load("stray = 1\n"		/* 1 */
	    "[server]\n"				/* 2 */
	    "workers = 0\n"				/* 3 */
	    "listen = nowhere\n"			/* 4 */
	    "\n"					/* 5 */
	    "; comment\n"				/* 6 */
	    "colour = blue\n"				/* 7 */
	    "workers = 2\n"				/* 8 */
	    "[log]\n"					/* 9 */
	    "level = chatty\n"				/* 10 */
	    "[diag]\n"					/* 11 */
	    "max = 5\n"), -1);				/* 12 */
	assert_null(cfg);
	assert_int_equal(nmsgs, 6);
	expect_msg(0, 1, "outside a section");
	expect_msg(1, 3, "bad value '0'");
	expect_msg(2, 4, "bad listen address 'nowhere'");
	expect_msg(3, 7, "unknown key 'colour'");
	expect_msg(4, 8, "duplicate key 'workers'");
	expect_msg(5, 10, "bad log level 'chatty'");
}

static void
test_crlf_line_endings(void **state)
{
	load_ok("[server]\r\nworkers = 2\r\n[diag]\r\nk = v\r\n");
	assert_int_equal(cfg->workers, 2);
	assert_string_equal(config_section_find(cfg, "diag")->kv[0].value, "v");
	expect_one_error("[server]\r\n\r\nbogus = 1\r\n", 3, "bogus");
}

static void
test_plugin_sections(void **state)
{
	const struct config_section *s;

	load_ok("[server]\n"				/* 1 */
	    "workers = 2\n"				/* 2 */
	    "\n"					/* 3 */
	    "[diag]\n"					/* 4 */
	    "max_ms = 100\n"				/* 5 */
	    "; comment\n"				/* 6 */
	    "mode = fast and loose\n"			/* 7 */
	    "\n"					/* 8 */
	    "[empty]\n"					/* 9 */
	    "\n"					/* 10 */
	    "[gpio]\n"					/* 11 */
	    "chip=gpiochip0\n"				/* 12 */
	    "[diag]\n"					/* 13 */
	    "extra = 1\n");				/* 14 */
	assert_int_equal(cfg->workers, 2);
	assert_int_equal(cfg->nsections, 3);

	assert_non_null(s = config_section_find(cfg, "diag"));
	assert_string_equal(s->name, "diag");
	assert_int_equal(s->line, 4);
	assert_int_equal(s->nkv, 3);
	assert_string_equal(s->kv[0].key, "max_ms");
	assert_string_equal(s->kv[0].value, "100");
	assert_int_equal(s->kv[0].line, 5);
	assert_string_equal(s->kv[1].key, "mode");
	assert_string_equal(s->kv[1].value, "fast and loose");
	assert_int_equal(s->kv[1].line, 7);
	assert_string_equal(s->kv[2].key, "extra");
	assert_int_equal(s->kv[2].line, 14);

	/* An empty section is kept, so a section for a plugin that is not
	 * loaded can still be reported on its line. */
	assert_non_null(s = config_section_find(cfg, "empty"));
	assert_int_equal(s->line, 9);
	assert_int_equal(s->nkv, 0);

	assert_non_null(s = config_section_find(cfg, "gpio"));
	assert_int_equal(s->line, 11);
	assert_int_equal(s->nkv, 1);
	assert_string_equal(s->kv[0].key, "chip");
	assert_string_equal(s->kv[0].value, "gpiochip0");
	assert_int_equal(s->kv[0].line, 12);

	assert_null(config_section_find(cfg, "server"));
	assert_null(config_section_find(cfg, "nosuch"));
}

/* Blanks inside the brackets are not part of the name. */
static void
test_section_name_blanks(void **state)
{
	const struct config_section *s;

	load_ok("[ diag ]\nk = v\n[\tserver ]\nworkers = 3\n");
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->nsections, 1);
	assert_non_null(s = config_section_find(cfg, "diag"));
	assert_int_equal(s->line, 1);
	assert_int_equal(s->nkv, 1);
	assert_string_equal(s->kv[0].key, "k");
	assert_int_equal(s->kv[0].line, 2);
}

static void
test_relative_paths(void **state)
{
	load_ok("[plugins]\ndir = commands\n[system]\nsysfs_root = fix/sys\n");
	assert_string_equal(cfg->dir, "/tmp");
	assert_string_equal(cfg->plugin_dir, "/tmp/commands");
	assert_string_equal(cfg->sysfs_root, "/tmp/fix/sys");
	assert_string_equal(cfg->procfs_root, "/proc");

	load_ok("[plugins]\ndir = ../build/commands\n");
	assert_string_equal(cfg->plugin_dir, "/tmp/../build/commands");

	expect_one_error("[plugins]\ndir =\n", 2, "empty path");

	char *p = config_resolve_path("/etc/picmd", "x.so");
	assert_string_equal(p, "/etc/picmd/x.so");
	free(p);
	p = config_resolve_path("/etc/picmd", "/abs/x.so");
	assert_string_equal(p, "/abs/x.so");
	free(p);
}

static void
test_load_names(void **state)
{
	/* Present but empty: load nothing (unlike absent: load all). */
	load_ok("[plugins]\nload =\n");
	assert_non_null(cfg->load);
	assert_int_equal(cfg->nload, 0);
	assert_null(cfg->load[0]);

	load_ok("[plugins]\nload = diag\n");
	assert_int_equal(cfg->nload, 1);
	assert_string_equal(cfg->load[0], "diag");
	assert_null(cfg->load[1]);

	expect_one_error("[plugins]\nload = diag ../evil\n", 2,
	    "bad plugin name '../evil'");
	expect_one_error("[plugins]\nload = diag.so\n", 2, "'diag.so'");
}

static void
test_missing_file(void **state)
{
	const char *missing = "/tmp/picmd-test-no-such-dir/picmd.ini";

	assert_int_equal(config_load(missing, &cfg, collect, &nmsgs), -1);
	assert_null(cfg);
	assert_int_equal(nmsgs, 1);
	assert_true(strncmp(msgs[0], missing, strlen(missing)) == 0);
	assert_non_null(strstr(msgs[0], "cannot open"));
	assert_non_null(strstr(msgs[0], "No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, cleanup)
		T(test_defaults),
		T(test_every_key),
		T(test_range_limits_accepted),
		T(test_listen_lists),
		T(test_listen_errors),
		T(test_unknown_key),
		T(test_bad_integers),
		T(test_out_of_range),
		T(test_bad_log_level),
		T(test_duplicate_key),
		T(test_key_outside_section),
		T(test_syntax_error),
		T(test_long_line),
		T(test_all_errors_reported),
		T(test_crlf_line_endings),
		T(test_plugin_sections),
		T(test_section_name_blanks),
		T(test_relative_paths),
		T(test_load_names),
		T(test_missing_file),
#undef T
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
