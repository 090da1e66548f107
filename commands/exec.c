/*
 * exec: script-backed commands.  Each line of the [exec] section,
 *
 *     NAME = /absolute/path/to/program [fixed args...]
 *
 * adds the command NAME, which runs the program with the fixed arguments
 * followed by the request's arguments.  There is no shell: argv is built
 * word by word and nothing is interpolated.  Exit status 0 answers "OK" and
 * the first line of stdout; any other ending answers "ERR DEVICE" and the
 * first line of stderr; a program still running at the timeout is killed
 * and answered "ERR TIMEOUT".  Reserved keys (not commands):
 *
 *     timeout_ms = 5000     per run, also bounded by the request's deadline
 *     max_output = 4096     bytes of stdout (and stderr) kept for the reply
 *     public = a b.c        commands that do not need the admin credential
 *
 * Threading: the state is built by init() and only read afterwards, so
 * handlers on several worker threads share it without locking.  Everything
 * a run needs (pipes, buffers, the child's pid) lives on its own stack or
 * heap.  The daemon installs no SIGCHLD handler; each run waits for its own
 * pid only, so runs never reap each other's children.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* addclosefrom_np, pipe2, sigabbrev_np, strerror_r */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <picmd/plugin.h>

#include "sysfs.h"

extern char **environ;

#define EXEC_DEFAULT_TIMEOUT_MS	5000
#define EXEC_MAX_TIMEOUT_MS	600000L		/* ten minutes */
#define EXEC_DEFAULT_OUTPUT	4096
#define EXEC_MAX_OUTPUT		65536L
#define EXEC_KILL_GRACE_MS	500		/* SIGTERM, then SIGKILL */
#define EXEC_NAME_MAX		64
#define EXEC_NAME_WORDS		4		/* the dispatcher's limit */

struct exec_cmd {
	char		 name[EXEC_NAME_MAX];	/* normalised: "fan on" */
	char		*words;			/* storage for argv's strings */
	char		**argv;			/* program, fixed args, NULL */
	int		 nfixed;		/* program included */
	unsigned	 flags;
	int		 key;			/* config index, for errors */
};

/*
 * The ABI hands a handler its arguments but not its command's name, so
 * each command gets a handler of its own: slot i of a fixed table of small
 * functions that call exec_run(ctx, i, ...).  Hence the command limit.
 */
#define EXEC_SLOTS \
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
	X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) \
	X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32) X(33) \
	X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) X(44) \
	X(45) X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) \
	X(56) X(57) X(58) X(59) X(60) X(61) X(62) X(63)
#define EXEC_MAX_CMDS 64

struct exec_state {
	long		 timeout_ms;
	size_t		 max_output;
	int		 ncmds;
	struct exec_cmd	 cmds[EXEC_MAX_CMDS];
};

/* What a run keeps of one of the child's output streams. */
struct capture {
	char		*buf;
	size_t		 len, cap;
	bool		 eof;
};

static const struct picmd_api *api;	/* constant table: safe to share */

static const char *
errstr(int err, char *buf, size_t size)
{
	return strerror_r(err, buf, size);	/* GNU: thread-safe, no errno */
}

/* ---------------------------------------------------------------------
 * Configuration
 */

/*
 * The dispatcher's rule for names: 1 to 4 words of a-z 0-9 _ - (any case),
 * separated by spaces or dots, written out as "fan on"; -1 when bad.  Asked
 * of the daemon, so the two cannot disagree, and checked here rather than
 * left to register_command(), so a bad key is reported with its line.
 */
static int
normalise_name(const char *in, char out[EXEC_NAME_MAX])
{
	return api->command_name(in, out, EXEC_NAME_MAX);
}

/*
 * Split a value into words the way the protocol splits a request: on
 * spaces and tabs, with "double quoted" words that may hold spaces and the
 * escapes \" \\ \n \t.  A quoted word stands alone.  Words are written
 * NUL-terminated into out (at least strlen(s) + 1 bytes); returns the
 * number of words, or -1 with *why set.
 */
static int
split_words(const char *s, char *out, char **words, int max,
    const char **why)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return n;
		if (n == max) {
			*why = "too many words";
			return -1;
		}
		words[n++] = out;
		if (*s != '"') {
			for (; *s != '\0' && *s != ' ' && *s != '\t'; s++) {
				if (*s == '"') {
					*why = "quote inside a word";
					return -1;
				}
				*out++ = *s;
			}
			*out++ = '\0';
			continue;
		}
		for (s++; *s != '"'; s++) {
			if (*s == '\0') {
				*why = "unterminated quote";
				return -1;
			}
			if (*s != '\\') {
				*out++ = *s;
				continue;
			}
			switch (*++s) {
			case '"':
			case '\\':
				*out++ = *s;
				break;
			case 'n':
				*out++ = '\n';
				break;
			case 't':
				*out++ = '\t';
				break;
			default:
				*why = "bad escape in quotes (use \\\" \\\\ \\n "
				    "\\t)";
				return -1;
			}
		}
		s++;	/* the closing quote */
		if (*s != '\0' && *s != ' ' && *s != '\t') {
			*why = "closing quote must end a word";
			return -1;
		}
		*out++ = '\0';
	}
}

/* Parse one "NAME = program args" line into cmd; 0, or -1 after reporting. */
static int
parse_command(picmd_init *init, const char *key, const char *value,
    struct exec_cmd *cmd)
{
	size_t len = strlen(value);
	const char *why = NULL;
	struct stat sb;
	char ebuf[128];
	int n;

	if (normalise_name(key, cmd->name) == -1) {
		cmd->name[0] = '\0';	/* matches nothing in "public" */
		api->config_error(init, key, "bad command name '%s': 1 to %d "
		    "words of a-z 0-9 _ -", key, EXEC_NAME_WORDS);
		return -1;
	}
	/* Every word takes at least one byte and a separator. */
	cmd->words = malloc(len + 1);
	cmd->argv = calloc(len / 2 + 2, sizeof(char *));
	if (cmd->words == NULL || cmd->argv == NULL) {
		api->config_error(init, key, "out of memory");
		return -1;
	}
	n = split_words(value, cmd->words, cmd->argv, (int)(len / 2 + 1), &why);
	if (n == -1) {
		api->config_error(init, key, "%s: %s", cmd->name, why);
		return -1;
	}
	if (n == 0) {
		api->config_error(init, key, "%s: no program given (NAME = "
		    "/absolute/path/to/program [args...])", cmd->name);
		return -1;
	}
	cmd->argv[n] = NULL;
	cmd->nfixed = n;
	if (cmd->argv[0][0] != '/') {
		api->config_error(init, key, "%s: program '%s' must be an "
		    "absolute path", cmd->name, cmd->argv[0]);
		return -1;
	}
	if (stat(cmd->argv[0], &sb) == -1) {
		api->config_error(init, key, "%s: program %s: %s", cmd->name,
		    cmd->argv[0], errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	/* access() says yes to directories; only a file can be run. */
	if (!S_ISREG(sb.st_mode) || access(cmd->argv[0], X_OK) == -1) {
		api->config_error(init, key, "%s: program %s is not an "
		    "executable file", cmd->name, cmd->argv[0]);
		return -1;
	}
	cmd->flags = PICMD_CMD_ADMIN;
	return 0;
}

static int
parse_bounded(picmd_init *init, const char *key, long min, long max,
    long *out)
{
	const char *value = api->config_get(init, key);

	if (value != NULL && !sysfs_parse_long(value, min, max, out)) {
		api->config_error(init, key, "%s must be a whole number from "
		    "%ld to %ld", key, min, max);
		return -1;
	}
	return 0;
}

/* "public = temp fan.on": these commands do not need the admin credential. */
static int
parse_public(picmd_init *init, struct exec_state *st)
{
	const char *value = api->config_get(init, "public");
	char *copy, *item, *save = NULL, name[EXEC_NAME_MAX];
	int rc = 0, i;

	if (value == NULL)
		return 0;
	if ((copy = strdup(value)) == NULL) {
		api->config_error(init, "public", "out of memory");
		return -1;
	}
	for (item = strtok_r(copy, " \t,", &save); item != NULL;
	    item = strtok_r(NULL, " \t,", &save)) {
		i = st->ncmds;
		if (normalise_name(item, name) == 0)
			for (i = 0; i < st->ncmds; i++)
				if (strcmp(st->cmds[i].name, name) == 0)
					break;
		if (i == st->ncmds) {
			api->config_error(init, "public", "'%s' is not a command "
			    "of this section (write multi-word names with dots)",
			    item);
			rc = -1;
			continue;
		}
		st->cmds[i].flags &= ~PICMD_CMD_ADMIN;
	}
	free(copy);
	return rc;
}

/* ---------------------------------------------------------------------
 * Running a program
 */

static void
deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static long
ms_until(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec + 999999L) / 1000000L;
	return ms > 0 ? ms : 0;
}

/* A pipe whose ends are both above 2, so the dup2s below cannot collide. */
static int
pipe_above_stdio(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] > 2)
			continue;
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

		if (fd == -1) {
			int err = errno;

			close(fds[0]);
			close(fds[1]);
			fds[0] = fds[1] = -1;
			errno = err;
			return -1;
		}
		close(fds[i]);
		fds[i] = fd;
	}
	return 0;
}

/*
 * Start argv with stdin from /dev/null, stdout and stderr into new pipes
 * and no other descriptor.  The child gets an empty signal mask and
 * default dispositions (workers block every signal, and the daemon may
 * ignore SIGPIPE: neither should leak into a script), and a process group
 * of its own so a timeout can stop whatever it started too.  0 or an
 * errno value.
 */
static int
spawn_child(char *const *argv, pid_t *pid, int *outfd, int *errfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc;
	sigset_t none, all;

	if (pipe_above_stdio(out) == -1 || pipe_above_stdio(err) == -1) {
		rc = errno;
		if (out[0] != -1) {
			close(out[0]);
			close(out[1]);
		}
		return rc;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto close_pipes;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto close_pipes;
	}
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2)) != 0 ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	    /* Belt and braces: the daemon's descriptors are O_CLOEXEC, but
	     * another plugin's might not be. */
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
#endif
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0)
		goto destroy;
	rc = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
destroy:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
close_pipes:
	close(out[1]);
	close(err[1]);
	if (rc != 0) {
		close(out[0]);
		close(err[0]);
		return rc;
	}
	*outfd = out[0];
	*errfd = err[0];
	return 0;
}

/* Keep what fits; past the limit, read only to drain the pipe. */
static void
capture_read(struct capture *c, int fd)
{
	char chunk[4096];
	ssize_t n;

	n = read(fd, chunk, sizeof(chunk));
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN)) {
		c->eof = true;
		return;
	}
	if (n > 0 && c->len < c->cap) {
		size_t keep = (size_t)n < c->cap - c->len ? (size_t)n :
		    c->cap - c->len;

		memcpy(c->buf + c->len, chunk, keep);
		c->len += keep;
	}
}

/*
 * Read stdout and stderr together (a child blocked writing one while we
 * wait on the other would never finish) until both are at end of file.
 * Returns 0, ETIMEDOUT at the deadline, or an errno value from poll().
 */
static int
collect(int outfd, int errfd, struct capture *out, struct capture *err,
    const struct timespec *deadline)
{
	struct pollfd pfd[2];
	long left;

	while (!out->eof || !err->eof) {
		if ((left = ms_until(deadline)) == 0)
			return ETIMEDOUT;
		pfd[0].fd = out->eof ? -1 : outfd;
		pfd[1].fd = err->eof ? -1 : errfd;
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (pfd[0].revents != 0)
			capture_read(out, outfd);
		if (pfd[1].revents != 0)
			capture_read(err, errfd);
	}
	return 0;
}

/*
 * Has pid ended by the deadline?  WNOWAIT leaves it a zombie, which keeps
 * its pid, and so its process group's id, from being reused while we may
 * still signal the group.  Without SIGCHLD to wait on, poll with short
 * naps; a child that closed its output is normally gone at the first look.
 */
static bool
ended_by(pid_t pid, const struct timespec *deadline)
{
	struct timespec nap;
	siginfo_t si;
	long ms = 1, left;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == 0) {
			if (si.si_pid == pid)
				return true;
		} else if (errno == ECHILD)
			return true;	/* reaped behind our back: see reap() */
		if ((left = ms_until(deadline)) == 0)
			return false;
		if (ms > left)
			ms = left;
		nap.tv_sec = 0;
		nap.tv_nsec = ms * 1000000L;
		nanosleep(&nap, NULL);
		if (ms < 10)
			ms *= 2;
	}
}

static void
signal_group(pid_t pid, int sig)
{
	/* The child may have left its group (setsid): then signal it alone. */
	if (kill(-pid, sig) == -1 && errno == ESRCH)
		kill(pid, sig);
}

/* Stop the child and everything in its group: SIGTERM, a grace, SIGKILL. */
static void
stop_child(pid_t pid)
{
	struct timespec grace;

	signal_group(pid, SIGTERM);
	deadline_in(&grace, EXEC_KILL_GRACE_MS);
	(void)ended_by(pid, &grace);
	/* Also when the child went: a grandchild may ignore SIGTERM. */
	signal_group(pid, SIGKILL);
}

/*
 * Always reap our own child (never -1: other runs' children are not ours).
 * -1 when the status is lost: only if something set SIGCHLD to SIG_IGN,
 * which makes the kernel reap children itself.
 */
static int
reap(pid_t pid, int *status)
{
	int rc;

	while ((rc = waitpid(pid, status, 0)) == -1 && errno == EINTR)
		;
	return rc == -1 ? -1 : 0;
}

/*
 * The first line of what was captured, without its line ending or
 * trailing blanks, and not ending in the middle of a UTF-8 character when
 * the limit cut it.
 */
static const char *
first_line(struct capture *c, size_t *len)
{
	char *nl = memchr(c->buf, '\n', c->len);
	size_t n = nl != NULL ? (size_t)(nl - c->buf) : c->len;

	if (nl == NULL && c->len == c->cap && n > 0) {
		size_t i = n;

		while (i > 0 && ((unsigned char)c->buf[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && ((unsigned char)c->buf[i - 1] & 0x80) != 0) {
			unsigned char lead = (unsigned char)c->buf[i - 1];
			size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

			if (n - (i - 1) < need)
				n = i - 1;
		}
	}
	while (n > 0 && (c->buf[n - 1] == '\r' || c->buf[n - 1] == ' ' ||
	    c->buf[n - 1] == '\t'))
		n--;
	*len = n;
	return c->buf;
}

static void
exec_run(picmd_ctx *ctx, int slot, int argc, const char *const *argv)
{
	const struct exec_state *st = api->state(ctx);
	const struct exec_cmd *cmd = &st->cmds[slot];
	struct capture out = { 0 }, err = { 0 };
	struct timespec deadline;
	char **args, ebuf[128];
	const char *line;
	long timeout;
	size_t len;
	int outfd = -1, errfd = -1, rc, status = 0;
	pid_t pid;

	timeout = api->remaining_ms(ctx);
	if (timeout > st->timeout_ms)
		timeout = st->timeout_ms;
	if (timeout <= 0) {
		api->reply_error(ctx, PICMD_ERR_TIMEOUT, "no time left to run "
		    "%s", cmd->name);
		return;
	}
	deadline_in(&deadline, timeout);

	/* Fixed args, then the request's, verbatim: there is no shell. */
	args = calloc((size_t)cmd->nfixed + (size_t)argc + 1, sizeof(*args));
	out.buf = malloc(st->max_output);
	err.buf = malloc(st->max_output);
	if (args == NULL || out.buf == NULL || err.buf == NULL) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "out of memory");
		goto done;
	}
	out.cap = err.cap = st->max_output;
	memcpy(args, cmd->argv, (size_t)cmd->nfixed * sizeof(*args));
	for (int i = 0; i < argc; i++)
		args[cmd->nfixed + i] = (char *)argv[i];

	if ((rc = spawn_child(args, &pid, &outfd, &errfd)) != 0) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "cannot run %s: %s",
		    cmd->argv[0], errstr(rc, ebuf, sizeof(ebuf)));
		goto done;
	}
	rc = collect(outfd, errfd, &out, &err, &deadline);
	/* Output closed is not the same as gone: wait for the exit too. */
	if (rc == 0 && !ended_by(pid, &deadline))
		rc = ETIMEDOUT;
	if (rc != 0)
		stop_child(pid);
	if (reap(pid, &status) == -1 && rc == 0)
		rc = ECHILD;
	close(outfd);
	close(errfd);

	if (rc == ETIMEDOUT) {
		api->log(PICMD_LOG_WARN, "exec: %s (pid %ld) timed out after "
		    "%ld ms, killed", cmd->name, (long)pid, timeout);
		api->reply_error(ctx, PICMD_ERR_TIMEOUT, "%s timed out after "
		    "%ld ms", cmd->name, timeout);
	} else if (rc == ECHILD) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "%s: exit status "
		    "lost (is SIGCHLD ignored?)", cmd->name);
	} else if (rc != 0) {
		api->reply_error(ctx, PICMD_ERR_INTERNAL, "poll: %s",
		    errstr(rc, ebuf, sizeof(ebuf)));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		line = first_line(&out, &len);
		api->reply_ok(ctx, "%.*s", (int)len, line);
	} else if (line = first_line(&err, &len), len > 0) {
		/* The program's own words on what went wrong come first. */
		api->reply_error(ctx, PICMD_ERR_DEVICE, "%.*s", (int)len, line);
	} else if (WIFEXITED(status)) {
		api->reply_error(ctx, PICMD_ERR_DEVICE, "exited with status %d",
		    WEXITSTATUS(status));
	} else {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));

		api->reply_error(ctx, PICMD_ERR_DEVICE, "killed by signal %d "
		    "(SIG%s)", WTERMSIG(status), abbrev != NULL ? abbrev : "?");
	}
done:
	free(args);
	free(out.buf);
	free(err.buf);
}

#define X(n) \
static void \
exec_slot_##n(picmd_ctx *ctx, int argc, const char *const *argv) \
{ \
	exec_run(ctx, n, argc, argv); \
}
EXEC_SLOTS
#undef X

static const picmd_handler slots[EXEC_MAX_CMDS] = {
#define X(n) exec_slot_##n,
	EXEC_SLOTS
#undef X
};

/* ---------------------------------------------------------------------
 * Plugin
 */

static void
exec_fini(void *state)
{
	struct exec_state *st = state;

	for (int i = 0; i < st->ncmds; i++) {
		free(st->cmds[i].words);
		free(st->cmds[i].argv);
	}
	free(st);
}

static bool
is_reserved(const char *key)
{
	return strcmp(key, "timeout_ms") == 0 ||
	    strcmp(key, "max_output") == 0 || strcmp(key, "public") == 0;
}

static int
exec_init(const struct picmd_api *host, picmd_init *init)
{
	struct exec_state *st;
	long max_output = EXEC_DEFAULT_OUTPUT;
	int bad = 0;

	api = host;
	if (api->size < offsetof(struct picmd_api, command_name) +
	    sizeof(api->command_name)) {
		api->log(PICMD_LOG_ERROR, "exec: this picmdd is older than the "
		    "plugin; install both from the same build");
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		api->log(PICMD_LOG_ERROR, "exec: out of memory");
		return -1;
	}
	api->set_state(init, st);	/* from here on fini() frees it */
	st->timeout_ms = EXEC_DEFAULT_TIMEOUT_MS;
	bad |= parse_bounded(init, "timeout_ms", 1, EXEC_MAX_TIMEOUT_MS,
	    &st->timeout_ms);
	bad |= parse_bounded(init, "max_output", 1, EXEC_MAX_OUTPUT,
	    &max_output);
	st->max_output = (size_t)max_output;

	/* Check every line, so one run of picmdd -t reports all problems. */
	for (int i = 0; i < api->config_count(init); i++) {
		const char *key = api->config_key(init, i);

		if (is_reserved(key))
			continue;
		if (st->ncmds == EXEC_MAX_CMDS) {
			api->config_error(init, key, "too many commands (at most "
			    "%d)", EXEC_MAX_CMDS);
			bad = -1;
			break;
		}
		/* Counted even when bad, so fini() frees what it holds
		 * and "public" does not report it a second time. */
		st->cmds[st->ncmds].key = i;
		if (parse_command(init, key, api->config_value(init, i),
		    &st->cmds[st->ncmds++]) == -1)
			bad = -1;
	}
	bad |= parse_public(init, st);
	if (bad != 0)
		return -1;

	for (int i = 0; i < st->ncmds; i++) {
		struct exec_cmd *cmd = &st->cmds[i];
		char usage[EXEC_NAME_MAX + 16];
		struct picmd_command pc = {
			.name = cmd->name, .usage = usage, .min_args = 0,
			.max_args = PICMD_ARGS_ANY, .flags = cmd->flags,
			.handler = slots[i],
		};

		snprintf(usage, sizeof(usage), "%s [arg...]", cmd->name);
		if (api->register_command(init, &pc) == -1) {
			/* Already reported; add where the line is. */
			api->config_error(init, api->config_key(init,
			    cmd->key), "cannot add command '%s'", cmd->name);
			bad = -1;
		}
	}
	return bad != 0 ? -1 : 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "exec",
	.version = "1.0",
	.init = exec_init,
	.fini = exec_fini,
};
