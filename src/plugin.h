/*
 * Plugin loading: dlopen every configured plugin, check its descriptor,
 * hand it the API table and its config section, and undo everything of a
 * plugin that fails (its commands, its state, the dlopen).
 */
#ifndef PICMD_PLUGIN_LOADER_H
#define PICMD_PLUGIN_LOADER_H

#include <stdatomic.h>

#include "config.h"
#include "dispatch.h"
#include "events.h"
#include "fdwatch.h"

struct plugin {
	char				*name;
	char				*path;
	void				*dl;
	const struct picmd_plugin	*desc;
	void				*state;
	struct plugin			*next;
};

/* What api->host() hands out: where published events go.  NULL until
 * the server sets it (and under picmdd -t): events are then dropped, as
 * there is nobody to receive them. */
struct picmd_host {
	_Atomic(struct events *) bus;
	_Atomic(struct fdwatch_set *) watches;	/* NULL: no watch_fd */
	/* Whether a connection subscribes to a topic; set with the bus. */
	bool			(*subscribed)(void *arg, const char *topic);
	void			*subscribed_arg;
};

/* A plugin's other names for the topics under "<prefix>.". */
struct topic_alias {
	char		*prefix;
	int		(*normalise)(void *state, const char *word, char *out,
			    size_t size);
	struct plugin	*plugin;
};

/* A plugin's interest in lost leases. */
struct lease_watcher {
	void		(*cb)(void *state, uint64_t lease);
	struct plugin	*plugin;
};

struct plugins {
	struct plugin		*head;
	int			 count;
	char			*sysfs_root;	/* copies, valid for the process */
	char			*procfs_root;
	struct picmd_host	 host;
	struct topic_alias	*aliases;
	int			 naliases;
	struct lease_watcher	*lease_watchers;
	int			 nlease_watchers;
};

/*
 * Load the plugins cfg names into d.  Every problem goes to report as
 * "FILE:LINE: message" or "PATH: message"; returns the number of problems
 * (0: all loaded).  *out is set either way and must be unloaded.
 */
int	plugins_load(const struct config *cfg, struct dispatch *d,
	    struct plugins **out, config_report_fn report, void *arg);
void	plugins_unload(struct plugins *ps);
/* Where the plugins' events go, and who watches their descriptors, from
 * now on (loop thread, once each; NULL until then). */
void	plugins_set_bus(struct plugins *ps, struct events *bus,
	    bool (*subscribed)(void *arg, const char *topic), void *arg);
void	plugins_set_watches(struct plugins *ps, struct fdwatch_set *set);
/*
 * A subscription pattern as the plugins publish it: "gpio.GPIO17" becomes
 * "gpio.17" through the gpio plugin's aliases; patterns under no
 * registered prefix, and wildcards, are kept.  0, or -1 with why set when
 * a plugin does not know the name.
 */
int	plugins_normalise_topic(const struct plugins *ps, const char *pattern,
	    char *out, size_t size, char *why, size_t whysize);
/* Tell every plugin that asked that lease is lost (on a worker). */
void	plugins_lease_lost(const struct plugins *ps, uint64_t lease);
bool	plugins_watch_leases(const struct plugins *ps);
/* Problems with sections that name no loaded plugin (for reload too). */
int	plugins_check_sections(const struct plugins *ps,
	    const struct config *cfg, config_report_fn report, void *arg);

#endif
