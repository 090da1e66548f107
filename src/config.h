/*
 * The configuration: an INI file parsed with inih into an immutable
 * struct config.  A reload builds a new one and the server swaps it whole.
 */
#ifndef PICMD_CONFIG_H
#define PICMD_CONFIG_H

#include <stdbool.h>

#include "cidr.h"
#include "endpoint.h"
#include "picmd/plugin.h"

#ifndef PICMD_CONFIG_PATH
#define PICMD_CONFIG_PATH "/etc/picmd/picmd.ini"
#endif
#ifndef PICMD_PLUGIN_DIR
#define PICMD_PLUGIN_DIR "/usr/local/lib/picmd/commands"
#endif
#define PICMD_DEFAULT_LISTEN "127.0.0.1:15769"

struct config_kv {
	char	*key;
	char	*value;
	int	 line;
};

/* A [NAME] section that belongs to the plugin NAME. */
struct config_section {
	char			*name;
	int			 line;
	struct config_kv	*kv;
	int			 nkv;
};

/* [failsafe]: command lines run as the daemon (failsafe.c). */
enum failsafe_program {
	FAILSAFE_ON_LOST = 0,	/* a lease was lost */
	FAILSAFE_ON_START,	/* before listening */
	FAILSAFE_ON_STOP,	/* after the drain at SIGTERM/SIGINT */
	FAILSAFE_NPROGRAMS,
};

struct failsafe_text {
	char	*text;		/* "cmd; cmd; ...", or NULL */
	int	 line;		/* in the file, for messages */
};

struct config {
	char			*path;
	char			*dir;		/* relative paths start here */

	/* [server] */
	struct endpoint		*listen;
	int			 nlisten;
	int			 workers;
	int			 queue;
	int			 max_line;
	int			 command_timeout_ms;
	int			 max_clients;
	int			 idle_timeout_s;
	int			 max_inflight;
	int			 drain_timeout_s;
	int			 max_output;	/* unsent reply bytes per client */
	int			 max_events_queued; /* per subscriber */
	struct failsafe_text	 failsafe[FAILSAFE_NPROGRAMS];
	int			 unix_mode;	/* of Unix sockets */

	/* [plugins] */
	char			*plugin_dir;
	char			**load;		/* NULL: every .so in the dir */
	int			 nload;

	/* [log] */
	enum picmd_log_level	 log_level;

	/* [system] */
	char			*sysfs_root;
	char			*procfs_root;

	/* [callback] */
	bool			 callback_enabled;
	int			 callback_port_min;
	int			 callback_port_max;
	int			 callback_connect_timeout_ms;
	int			 callback_retry_ms;
	int			 callback_max_pending;	/* per client */

	/* [security] */
	char			*token;		/* NULL: no authentication */
	char			*admin_token;	/* NULL: admin only on Unix */
	int			 auth_timeout_s;
	bool			 unix_trusted;
	struct cidr		*allow;		/* empty: any address */
	int			 nallow;
	int			 max_clients_per_ip;	/* 0: no limit */

	/* [pigpio]: NULL when absent */
	struct pigpio_config	*pigpio;

	struct config_section	*sections;
	int			 nsections;
};

/* Receives each problem as "FILE:LINE: message". */
typedef void (*config_report_fn)(void *arg, const char *msg);

/*
 * Parse path into *out.  Every problem is passed to report; returns 0
 * when there were none, else -1 and *out is NULL.
 */
int	config_load(const char *path, struct config **out,
	    config_report_fn report, void *arg);
void	config_free(struct config *cfg);

const struct config_section *config_section_find(const struct config *cfg,
	    const char *name);
/* Resolve a possibly relative path against the config's directory. */
char	*config_resolve_path(const char *dir, const char *path);

/* Default worker count: online CPUs, at least 1. */
int	config_default_workers(void);

#endif
