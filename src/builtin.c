/*
 * Built-in commands.  They are cheap and touch server state, so they run
 * on the loop thread; each is one entry in the table below.
 */
#include <string.h>

#include "conn.h"
#include "conn_events.h"
#include "dispatch.h"
#include "lease.h"
#include "proto.h"
#include "server.h"

#ifndef PICMD_VERSION
#define PICMD_VERSION "0.0.0"
#endif

static int
cmd_ping(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)c;
	(void)argc;
	(void)argv;
	strbuf_adds(text, "PONG");
	return REPLY_OK;
}

static int
cmd_echo(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)c;
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strbuf_addc(text, ' ');
		strbuf_adds(text, argv[i]);
	}
	return REPLY_OK;
}

static int
cmd_help(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	struct server *s = conn_server(c);
	const struct command *cmd;
	char name[256];
	size_t n = 0;

	if (argc == 0) {
		dispatch_list(s->dispatch, text);
		return REPLY_OK;
	}
	/* "HELP gpio read" and "HELP gpio.read" name the same command. */
	name[0] = '\0';
	for (int i = 0; i < argc && n < sizeof(name) - 1; i++) {
		size_t len = strlen(argv[i]);

		if (n + len + 2 > sizeof(name))
			break;
		if (i > 0)
			name[n++] = ' ';
		memcpy(name + n, argv[i], len + 1);
		n += len;
	}
	if ((cmd = dispatch_find(s->dispatch, name)) == NULL) {
		strbuf_addf(text, "unknown command '%.64s'", name);
		return REPLY_UNKNOWN;
	}
	strbuf_adds(text, cmd->usage);
	return REPLY_OK;
}

static int
cmd_version(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)c;
	(void)argc;
	(void)argv;
	strbuf_addf(text, "picmd %s protocol %d", PICMD_VERSION, PROTO_VERSION);
	return REPLY_OK;
}

static int
cmd_stats(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)argc;
	(void)argv;
	server_stats(conn_server(c), text);
	return REPLY_OK;
}

static int
cmd_callback(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)argc;
	return conn_set_callback(c, argv[0], text);
}

/* The reply, "OK BYE", is written by the connection after every earlier
 * reply, so -1: nothing to answer now. */
static int
cmd_quit(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)argc;
	(void)argv;
	(void)text;
	conn_quit(c);
	return -1;
}

static int
cmd_auth(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)argc;
	return conn_auth(c, argv[0], text);
}

/* Every pattern is checked before any is added: all or nothing. */
static int
cmd_subscribe(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	for (int i = 0; i < argc; i++)
		if (conn_subscribe(c, argv[i], text) == -1)
			return PICMD_ERR_ARGS;
	return REPLY_OK;
}

static int
cmd_unsubscribe(struct conn *c, int argc, char *const *argv,
    struct strbuf *text)
{
	for (int i = 0; i < argc; i++)
		if (conn_unsubscribe(c, argv[i], text) == -1)
			return PICMD_ERR_ARGS;
	return REPLY_OK;
}

static int
cmd_subscriptions(struct conn *c, int argc, char *const *argv,
    struct strbuf *text)
{
	(void)argc;
	(void)argv;
	conn_subscriptions(c, text);
	return REPLY_OK;
}

static int
cmd_lease(struct conn *c, int argc, char *const *argv, struct strbuf *text)
{
	(void)argc;
	return conn_lease(c, argv[0], text);
}

static const struct {
	const char	*name;
	const char	*usage;
	int		 min_args;
	int		 max_args;
	unsigned	 flags;
	builtin_fn	 fn;
} builtins[] = {
	{ "ping", "PING", 0, 0, CMD_PREAUTH, cmd_ping },
	{ "echo", "ECHO [word ...]", 0, PICMD_ARGS_ANY, 0, cmd_echo },
	{ "help", "HELP [command]", 0, DISPATCH_MAX_NAME_WORDS, 0, cmd_help },
	{ "version", "VERSION", 0, 0, 0, cmd_version },
	{ "stats", "STATS", 0, 0, 0, cmd_stats },
	{ "quit", "QUIT", 0, 0, CMD_PREAUTH, cmd_quit },
	{ "callback", "CALLBACK <port>|OFF", 1, 1, 0, cmd_callback },
	{ "auth", "AUTH <token>", 1, 1, CMD_PREAUTH, cmd_auth },
	{ "subscribe", "SUBSCRIBE <topic> [topic ...]", 1, PICMD_ARGS_ANY, 0,
	    cmd_subscribe },
	{ "unsubscribe", "UNSUBSCRIBE <topic> [topic ...]", 1, PICMD_ARGS_ANY,
	    0, cmd_unsubscribe },
	{ "subscriptions", "SUBSCRIPTIONS", 0, 0, 0, cmd_subscriptions },
	{ "lease", "LEASE <ms>|OFF", 1, 1, 0, cmd_lease },
};

int
builtin_register(struct dispatch *d)
{
	char why[256];

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (dispatch_add(d, builtins[i].name, builtins[i].usage,
		    builtins[i].min_args, builtins[i].max_args,
		    builtins[i].flags, NULL,
		    builtins[i].fn, NULL, why, sizeof(why)) == -1)
			return -1;
	}
	return 0;
}
