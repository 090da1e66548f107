/*
 * Failsafe programs (failsafe.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "failsafe.h"
#include "log.h"
#include "plugin.h"
#include "proto.h"
#include "request.h"
#include "strbuf.h"

struct failsafe_cmd {
	const struct command	*cmd;
	char			*line;		/* as written, for the log */
	int			 argc;		/* after the command's name */
	char			**argv;
};

struct failsafe {
	atomic_uint		 refs;
	enum failsafe_program	 which;
	int			 n;
	struct failsafe_cmd	*cmds;
};

static const char *const names[FAILSAFE_NPROGRAMS] = {
	[FAILSAFE_ON_LOST] = "on_lost",
	[FAILSAFE_ON_START] = "on_start",
	[FAILSAFE_ON_STOP] = "on_stop",
};

const char *
failsafe_name(enum failsafe_program which)
{
	return names[which];
}

static void
report_at(const struct config *cfg, int line, config_report_fn report,
    void *arg, const char *fmt, ...) PICMD_PRINTF(5, 6);

static void
report_at(const struct config *cfg, int line, config_report_fn report,
    void *arg, const char *fmt, ...)
{
	char msg[512], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%d: [failsafe] %s", cfg->path, line,
	    msg);
	if (report != NULL)
		report(arg, full);
}

static void
free_cmds(struct failsafe *f)
{
	for (int i = 0; i < f->n; i++) {
		free(f->cmds[i].line);
		for (int j = 0; j < f->cmds[i].argc; j++)
			free(f->cmds[i].argv[j]);
		free(f->cmds[i].argv);
	}
	free(f->cmds);
	free(f);
}

/* The next command line of text from *p: up to a ';' outside double
 * quotes (a quoted ';' belongs to an argument), trimmed. */
static size_t
next_line(const char **p, const char **start)
{
	const char *s = *p, *end;
	bool quoted = false;

	while (*s == ' ' || *s == '\t')
		s++;
	*start = s;
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (*s == ';' && !quoted)
			break;
	}
	end = s;
	*p = *s == ';' ? s + 1 : s;
	while (end > *start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - *start);
}

/* Add one command line; the number of problems (0 or 1). */
static int
compile_line(struct failsafe *f, const struct config *cfg, int lineno,
    struct dispatch *d, const char *line, size_t len,
    config_report_fn report, void *arg)
{
	const char *pname = names[f->which];
	struct proto_request pr;
	const struct command *cmd;
	struct failsafe_cmd *fc;
	char *words;
	int nargs, problems = 0;

	if ((words = malloc(len + 1)) == NULL)
		return 1;
	if (proto_parse(line, len, words, &pr) != PROTO_REQUEST) {
		report_at(cfg, lineno, report, arg, "%s: '%.*s': %s", pname,
		    (int)len, line, pr.error != NULL ? pr.error : "empty");
		problems = 1;
	} else if (pr.tag != NULL) {
		report_at(cfg, lineno, report, arg, "%s: '%.*s': no #tag here",
		    pname, (int)len, line);
		problems = 1;
	} else if ((cmd = dispatch_lookup(d, pr.argc, pr.argv)) == NULL) {
		report_at(cfg, lineno, report, arg, "%s: unknown command '%s' "
		    "(is its plugin loaded?)", pname, pr.argv[0]);
		problems = 1;
	} else if (cmd->handler == NULL) {
		report_at(cfg, lineno, report, arg, "%s: '%s' is a built-in "
		    "command, which only a connection can run", pname,
		    cmd->name);
		problems = 1;
	} else if (!dispatch_args_ok(cmd, (nargs = pr.argc - cmd->nwords))) {
		report_at(cfg, lineno, report, arg, "%s: '%.*s': usage: %s",
		    pname, (int)len, line, cmd->usage);
		problems = 1;
	} else {
		fc = realloc(f->cmds, (size_t)(f->n + 1) * sizeof(*fc));
		if (fc == NULL) {
			free(words);
			return 1;
		}
		f->cmds = fc;
		fc = &f->cmds[f->n];
		memset(fc, 0, sizeof(*fc));
		fc->cmd = cmd;
		fc->line = strndup(line, len);
		fc->argv = calloc((size_t)nargs + 1, sizeof(char *));
		f->n++;
		if (fc->line == NULL || fc->argv == NULL)
			problems = 1;
		for (int i = 0; i < nargs && problems == 0; i++) {
			if ((fc->argv[i] = strdup(pr.argv[cmd->nwords + i])) ==
			    NULL)
				problems = 1;
			else
				fc->argc++;
		}
	}
	free(words);
	return problems;
}

int
failsafe_compile(const struct config *cfg, enum failsafe_program which,
    struct dispatch *d, struct failsafe **out, config_report_fn report,
    void *arg)
{
	const struct failsafe_text *t = &cfg->failsafe[which];
	const char *p, *line;
	struct failsafe *f;
	int problems = 0;
	size_t len;

	*out = NULL;
	if (t->text == NULL)
		return 0;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return 1;
	atomic_init(&f->refs, 1);
	f->which = which;
	for (p = t->text; *p != '\0';) {
		if ((len = next_line(&p, &line)) > 0)
			problems += compile_line(f, cfg, t->line, d, line, len,
			    report, arg);
	}
	if (problems > 0 || f->n == 0) {
		free_cmds(f);
		return problems;
	}
	*out = f;
	return 0;
}

int
failsafe_check(const struct config *cfg, struct dispatch *d,
    config_report_fn report, void *arg)
{
	struct failsafe *f;
	int problems = 0;

	for (int i = 0; i < FAILSAFE_NPROGRAMS; i++) {
		problems += failsafe_compile(cfg, (enum failsafe_program)i, d,
		    &f, report, arg);
		failsafe_unref(f);
	}
	return problems;
}

struct failsafe *
failsafe_ref(struct failsafe *f)
{
	if (f != NULL)
		atomic_fetch_add(&f->refs, 1);
	return f;
}

void
failsafe_unref(struct failsafe *f)
{
	if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
		free_cmds(f);
}

int
failsafe_run(const struct failsafe *f, const char *why,
    long command_timeout_ms)
{
	struct strbuf line;
	struct timespec now;
	int failed = 0;

	if (f == NULL)
		return 0;
	log_warnx("failsafe %s (%s): %d command%s", names[f->which], why,
	    f->n, f->n == 1 ? "" : "s");
	strbuf_init(&line);
	for (int i = 0; i < f->n; i++) {
		const struct failsafe_cmd *fc = &f->cmds[i];
		picmd_ctx ctx;

		memset(&ctx, 0, sizeof(ctx));
		strbuf_init(&ctx.payload);
		ctx.code = REPLY_OK;
		ctx.state = fc->cmd->owner->state;
		ctx.admin = true;	/* the daemon's own, from its config */
		clock_gettime(CLOCK_MONOTONIC, &now);
		timespec_after_ms(&ctx.deadline, &now, command_timeout_ms);
		fc->cmd->handler(&ctx, fc->argc,
		    (const char *const *)fc->argv);
		strbuf_reset(&line);
		proto_format_reply(&line, NULL, ctx.payload.failed ?
		    PICMD_ERR_INTERNAL : ctx.code, ctx.payload.data,
		    ctx.payload.len);
		if (line.len > 0 && line.data[line.len - 1] == '\n')
			line.data[--line.len] = '\0';
		if (ctx.code == REPLY_OK)
			log_info("failsafe %s: %s: %s", names[f->which],
			    fc->line, strbuf_str(&line));
		else {
			log_warnx("failsafe %s: %s: %s", names[f->which],
			    fc->line, strbuf_str(&line));
			failed++;
		}
		strbuf_free(&ctx.payload);
	}
	strbuf_free(&line);
	return failed;
}
