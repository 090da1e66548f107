/*
 * picmd plugin ABI.
 *
 * This is the only header a plugin needs.  A plugin is a shared object that
 * exports one symbol, `picmd_plugin`, a `struct picmd_plugin` descriptor.
 * The daemon passes a table of functions (`struct picmd_api`) into the
 * plugin's init function; plugins never link against daemon symbols.
 *
 * Threading rules for plugin authors:
 *   - init() and fini() run on the main thread, before the server starts
 *     serving and after it has stopped.
 *   - Handlers run on worker threads, possibly several at once, so plugin
 *     state shared between handlers needs its own locking.
 *   - A handler may block (sleep, read a device); it should give up when
 *     api->remaining_ms() reaches 0, because its result is then discarded.
 *   - argv and the ctx are valid only until the handler returns.
 *
 * Compatibility: `abi_version` changes only on incompatible changes.  New
 * functions are appended to `struct picmd_api` and `size` grows; a plugin
 * that needs a newer function checks `api->size` first.
 */
#ifndef PICMD_PLUGIN_H
#define PICMD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PICMD_ABI_VERSION 1

/* Mark the descriptor so it stays visible with -fvisibility=hidden. */
#define PICMD_EXPORT __attribute__((visibility("default")))

#if defined(__GNUC__)
#define PICMD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PICMD_PRINTF(f, a)
#endif

/* Error codes a handler may answer with (docs/PROTOCOL.md). */
enum picmd_error {
	PICMD_ERR_ARGS = 1,	/* wrong arguments */
	PICMD_ERR_DEVICE,	/* the hardware or OS call failed */
	PICMD_ERR_BUSY,		/* resource busy */
	PICMD_ERR_TIMEOUT,	/* the operation timed out */
	PICMD_ERR_DENIED,	/* not allowed */
	PICMD_ERR_INTERNAL,	/* a bug or out of memory */
};

enum picmd_log_level {
	PICMD_LOG_ERROR = 0,
	PICMD_LOG_WARN,
	PICMD_LOG_INFO,
	PICMD_LOG_DEBUG,
};

/* Command flags. */
#define PICMD_CMD_ADMIN	0x01u	/* needs the admin credential */

/* Argument count without an upper bound. */
#define PICMD_ARGS_ANY	(-1)

/* One running command: the handler's view of its request and reply. */
typedef struct picmd_ctx picmd_ctx;
/* The daemon, for what a plugin does outside a request: publish events. */
typedef struct picmd_host picmd_host;
/* A file descriptor the daemon watches for a plugin. */
typedef struct picmd_watch picmd_watch;
/* A plugin being loaded: its config section and its registrations. */
typedef struct picmd_init picmd_init;

/*
 * argv holds the arguments after the command's name: for "gpio write 17 1"
 * registered as "gpio write", argc is 2 and argv is { "17", "1" }.  The
 * dispatcher has already checked argc against min_args/max_args.
 */
typedef void (*picmd_handler)(picmd_ctx *ctx, int argc,
    const char *const *argv);

struct picmd_command {
	const char	*name;		/* "gpio write": one or more words */
	const char	*usage;		/* "gpio write <line> 0|1" */
	int		 min_args;
	int		 max_args;	/* or PICMD_ARGS_ANY */
	unsigned	 flags;		/* PICMD_CMD_* */
	picmd_handler	 handler;
};

struct picmd_api {
	uint32_t	 abi_version;
	uint32_t	 size;		/* sizeof(struct picmd_api) of the host */

	/* ---- load time (init) ---- */

	/* 0 on success; -1 when the name is taken or malformed (logged). */
	int		(*register_command)(picmd_init *init,
			    const struct picmd_command *cmd);
	/* State handed back to handlers through state() and to fini(). */
	void		(*set_state)(picmd_init *init, void *state);
	/* The plugin's [NAME] section: number of keys, and each key/value. */
	int		(*config_count)(picmd_init *init);
	const char	*(*config_key)(picmd_init *init, int i);
	const char	*(*config_value)(picmd_init *init, int i);
	/* Value of a key in the section, or NULL when absent. */
	const char	*(*config_get)(picmd_init *init, const char *key);
	/* Report a problem with key (NULL: the section) as FILE:LINE: msg. */
	void		(*config_error)(picmd_init *init, const char *key,
			    const char *fmt, ...) PICMD_PRINTF(3, 4);
	/* Roots of the kernel's file systems ([system] sysfs_root/procfs_root),
	 * so plugins can be pointed at a fixture tree. */
	const char	*(*sysfs_root)(picmd_init *init);
	const char	*(*procfs_root)(picmd_init *init);

	/* ---- run time (handlers, any worker thread) ---- */

	void		*(*state)(picmd_ctx *ctx);
	/* Replace the payload: the reply becomes "OK <payload>". */
	void		(*reply_ok)(picmd_ctx *ctx, const char *fmt, ...)
			    PICMD_PRINTF(2, 3);
	/* Append to the payload. */
	void		(*reply_append)(picmd_ctx *ctx, const char *fmt, ...)
			    PICMD_PRINTF(2, 3);
	/* The reply becomes "ERR <CODE> <message>". */
	void		(*reply_error)(picmd_ctx *ctx, enum picmd_error code,
			    const char *fmt, ...) PICMD_PRINTF(3, 4);
	/* Milliseconds left before the client is answered TIMEOUT; 0 when
	 * the deadline has passed and the result will be discarded. */
	long		(*remaining_ms)(picmd_ctx *ctx);

	/* ---- any time ---- */
	void		(*log)(enum picmd_log_level level, const char *fmt, ...)
			    PICMD_PRINTF(2, 3);
	/* A command name as the dispatcher keeps it ("Fan.On" -> "fan on")
	 * in out (size bytes); -1 when it is no valid name or does not fit.
	 * For plugins that match names they read from their configuration
	 * against the ones they register. */
	int		(*command_name)(const char *name, char *out, size_t size);

	/* ---- events (check api->size before use: appended) ---- */

	/* The daemon's handle, valid from init() until fini() returns. */
	picmd_host	*(*host)(picmd_init *init);
	/* Publish an event, from any thread: each connection subscribed to
	 * topic (SUBSCRIBE, docs/PROTOCOL.md) gets one line
	 * "! <topic> <payload> seq=<n>".  The payload is words separated by
	 * spaces, no line break; its first word says what happened, then
	 * values, then key=value fields.  0 when queued (also when nobody
	 * listens, and under picmdd -t); -1 for a bad topic or a full event
	 * queue (the event is counted in STATS events_dropped). */
	int		(*publish)(picmd_host *host, const char *topic,
			    const char *fmt, ...) PICMD_PRINTF(3, 4);
	/* Let SUBSCRIBE accept other names for the topics under
	 * "<prefix>.": normalise(state, word, out, size) writes the word the
	 * plugin publishes under ("GPIO17" -> "17") and returns 0, or -1
	 * when the name is unknown (SUBSCRIBE then answers ERR ARGS).  Called
	 * on the loop thread with the plugin's state: it must be quick and
	 * safe beside running handlers. */
	int		(*register_topic)(picmd_init *init, const char *prefix,
			    int (*normalise)(void *state, const char *word,
			    char *out, size_t size));
	/* Call cb(fd, arg) on a worker thread, never on the loop thread,
	 * whenever fd is readable; fd is not watched while cb runs, so cb
	 * should read what is pending.  From a handler or the plugin's own
	 * thread, after init.  NULL with errno on failure (ENOTSUP under
	 * picmdd -t). */
	picmd_watch	*(*watch_fd)(picmd_host *host, int fd,
			    void (*cb)(int fd, void *arg), void *arg);
	/* Stop watching, from any thread but from within cb.  A callback
	 * already queued or running may still run once afterwards: cb checks
	 * the plugin's own state (under its lock) before using fd.  Watches
	 * left at shutdown are removed by the daemon before fini(): fini
	 * must not call this. */
	void		(*unwatch_fd)(picmd_watch *w);

	/* ---- leases (check api->size: appended) ---- */

	/* The lease the requesting connection holds (LEASE, docs/PROTOCOL.md),
	 * or 0: a handler can bind what it does to the client's liveness. */
	uint64_t	(*lease)(picmd_ctx *ctx);
	/* At init: have cb(state, lease) called on a worker when a lease is
	 * lost, before the [failsafe] on_lost program runs (gpio sets the
	 * outputs bound to that lease to their safe values). */
	int		(*on_lease_lost)(picmd_init *init,
			    void (*cb)(void *state, uint64_t lease));

	/* ---- any thread (check api->size: appended) ---- */

	/* 1 when some connection is subscribed to topic now (a pattern
	 * matching it counts), else 0: a plugin can stop producing events
	 * nobody wants (gpio's watch_idle_s). */
	int		(*subscribed)(picmd_host *host, const char *topic);

	/* ---- handlers (check api->size: appended) ---- */

	/* 1 when the request comes with admin rights (the connection sent
	 * AUTH with the admin token, is a trusted Unix-socket client, or the
	 * daemon runs it itself: [failsafe]), else 0.  For a command open to
	 * every client that lets admins do more: the i2c plugin's [i2c]
	 * allow binds only the others. */
	int		(*is_admin)(picmd_ctx *ctx);
};

struct picmd_plugin {
	uint32_t	 abi_version;	/* PICMD_ABI_VERSION */
	uint32_t	 size;		/* sizeof(struct picmd_plugin) */
	const char	*name;		/* must equal the file name without .so */
	const char	*version;
	/* Register commands and read the config section; 0 on success, -1
	 * after reporting the problem with config_error() or log(). */
	int		(*init)(const struct picmd_api *api, picmd_init *init);
	/* Release what init() made; may be NULL. */
	void		(*fini)(void *state);
};

#define PICMD_PLUGIN_SYMBOL "picmd_plugin"

#ifdef __cplusplus
}
#endif

#endif /* PICMD_PLUGIN_H */
