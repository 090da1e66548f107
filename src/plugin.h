/*
 * Plugin loading: dlopen every configured plugin, check its descriptor,
 * hand it the API table and its config section, and undo everything of a
 * plugin that fails (its commands, its state, the dlopen).
 */
#ifndef PICMD_PLUGIN_LOADER_H
#define PICMD_PLUGIN_LOADER_H

#include "config.h"
#include "dispatch.h"

struct plugin {
	char				*name;
	char				*path;
	void				*dl;
	const struct picmd_plugin	*desc;
	void				*state;
	struct plugin			*next;
};

struct plugins {
	struct plugin	*head;
	int		 count;
	char		*sysfs_root;	/* copies, valid for the process */
	char		*procfs_root;
};

/*
 * Load the plugins cfg names into d.  Every problem goes to report as
 * "FILE:LINE: message" or "PATH: message"; returns the number of problems
 * (0: all loaded).  *out is set either way and must be unloaded.
 */
int	plugins_load(const struct config *cfg, struct dispatch *d,
	    struct plugins **out, config_report_fn report, void *arg);
void	plugins_unload(struct plugins *ps);
/* Problems with sections that name no loaded plugin (for reload too). */
int	plugins_check_sections(const struct plugins *ps,
	    const struct config *cfg, config_report_fn report, void *arg);

#endif
