/*
 * The dispatch table: every command, built-in or from a plugin, is one
 * declarative entry (name, usage, argument counts, flags, handler), and the
 * dispatcher alone checks argument counts and answers ARGS and UNKNOWN.
 *
 * The table is built at startup, then only read, and only on the loop
 * thread.
 */
#ifndef PICMD_DISPATCH_H
#define PICMD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "picmd/plugin.h"
#include "strbuf.h"

#define DISPATCH_MAX_NAME_WORDS 4

/* Internal flags, above the plugin ABI's PICMD_CMD_* bits. */
#define CMD_PREAUTH	0x100u	/* allowed before AUTH */

struct conn;
struct plugin;

/*
 * A built-in runs on the loop thread.  It writes its payload (or error
 * message) into text and returns a reply code (REPLY_OK or an error).
 */
typedef int (*builtin_fn)(struct conn *c, int argc, char *const *argv,
	    struct strbuf *text);

struct command {
	char		*name;		/* lower case, words joined by ' ' */
	char		*usage;
	int		 nwords;
	int		 min_args;
	int		 max_args;	/* PICMD_ARGS_ANY: unbounded */
	unsigned	 flags;
	picmd_handler	 handler;	/* plugin command: on a worker */
	builtin_fn	 builtin;	/* built-in: on the loop thread */
	struct plugin	*owner;		/* NULL for built-ins */
};

struct dispatch;

struct dispatch *dispatch_new(void);
void	dispatch_free(struct dispatch *d);

/*
 * Add a command (strings are copied).  Returns 0, or -1 with a message in
 * why (a buffer of whysize bytes) when the name is malformed or taken.
 */
int	dispatch_add(struct dispatch *d, const char *name, const char *usage,
	    int min_args, int max_args, unsigned flags, picmd_handler handler,
	    builtin_fn builtin, struct plugin *owner, char *why, size_t whysize);
/* Remove every command of owner (undo a failed plugin load). */
void	dispatch_remove_owner(struct dispatch *d, struct plugin *owner);

/*
 * Find the command named by the leading words of argv: the longest
 * registered name wins; case-insensitive.  NULL when none matches.
 */
const struct command *dispatch_lookup(struct dispatch *d, int argc,
	    char *const *argv);
/* Find by a name as HELP accepts it: "gpio read" or "gpio.read". */
const struct command *dispatch_find(struct dispatch *d, const char *name);
/* Normalise "GPIO  Write" or "gpio.write" to "gpio write" in out (size
 * bytes); -1 when a word holds anything but letters, digits, '_' and '-',
 * there are more than DISPATCH_MAX_NAME_WORDS words, or it does not fit. */
int	dispatch_normalise(const char *in, char *out, size_t size,
	    int *nwords);
bool	dispatch_args_ok(const struct command *cmd, int nargs);
/* Append every command name, multi-word names joined with '.'. */
void	dispatch_list(struct dispatch *d, struct strbuf *out);
size_t	dispatch_count(struct dispatch *d);

#endif
