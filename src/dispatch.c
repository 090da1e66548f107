#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

/* Command names are ASCII; tolower() would consult the locale on every
 * byte of every request. */
static inline int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/*
 * Commands are kept sorted by first word (longest names first within a
 * word), and a small open-addressing hash maps each whole name to its
 * entry.  A lookup lowercases and hashes the line's first words once
 * (the hash of "diag" continues into that of "diag sleep") and probes the
 * longest candidate first, so it costs one pass over the words and a
 * compare or two; bisection over the sorted table is only the fallback
 * when the index could not be allocated.
 */
#define NAME_MAX_LEN	128	/* names are shorter (dispatch_normalise) */

struct dispatch {
	struct command	*cmds;
	size_t		 n;
	size_t		 cap;
	bool		 sorted;
	int		 maxwords;	/* of the longest name */
	uint32_t	*index;		/* slot -> entry + 1; 0 = empty */
	size_t		 nslots;	/* a power of two */
};

/* FNV-1a, fed one lower-case byte at a time. */
#define HASH_START	2166136261u

static inline uint32_t
hash_byte(uint32_t h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}

struct dispatch *
dispatch_new(void)
{
	return calloc(1, sizeof(struct dispatch));
}

static void
command_clear(struct command *c)
{
	free(c->name);
	free(c->usage);
}

void
dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		command_clear(&d->cmds[i]);
	free(d->cmds);
	free(d->index);
	free(d);
}

size_t
dispatch_count(struct dispatch *d)
{
	return d->n;
}

static bool
name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '-';
}

/*
 * Normalise "GPIO  Write" to "gpio write"; -1 when a word holds anything
 * but letters, digits, '_' and '-', or there are too many words.
 */
int
dispatch_normalise(const char *in, char *out, size_t size, int *nwords)
{
	size_t o = 0;
	int words = 0;
	bool in_word = false;

	for (const char *p = in; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (c == ' ' || c == '.') {
			in_word = false;
			continue;
		}
		if (!name_char_ok(c))
			return -1;
		if (!in_word) {
			if (++words > DISPATCH_MAX_NAME_WORDS)
				return -1;
			if (o > 0)
				out[o++] = ' ';
			in_word = true;
		}
		if (o + 2 >= size)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*nwords = words;
	return words == 0 ? -1 : 0;
}

int
dispatch_add(struct dispatch *d, const char *name, const char *usage,
    int min_args, int max_args, unsigned flags, picmd_handler handler,
    builtin_fn builtin, struct plugin *owner, char *why, size_t whysize)
{
	char norm[128];
	struct command *c;
	int nwords;

	if (name == NULL || dispatch_normalise(name, norm, sizeof(norm),
	    &nwords) == -1) {
		snprintf(why, whysize, "bad command name '%s': 1 to %d words "
		    "of a-z 0-9 _ -", name != NULL ? name : "(null)",
		    DISPATCH_MAX_NAME_WORDS);
		return -1;
	}
	if (min_args < 0 || (max_args != PICMD_ARGS_ANY && max_args < min_args)
	    || (handler == NULL) == (builtin == NULL)) {
		snprintf(why, whysize, "command '%s': bad argument counts or "
		    "handler", norm);
		return -1;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->cmds[i].name, norm) == 0) {
			snprintf(why, whysize, "command '%s' is already "
			    "registered", norm);
			return -1;
		}
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;

		c = reallocarray(d->cmds, cap, sizeof(*c));
		if (c == NULL) {
			snprintf(why, whysize, "out of memory");
			return -1;
		}
		d->cmds = c;
		d->cap = cap;
	}
	c = &d->cmds[d->n];
	memset(c, 0, sizeof(*c));
	c->name = strdup(norm);
	c->usage = strdup(usage != NULL && *usage != '\0' ? usage : norm);
	if (c->name == NULL || c->usage == NULL) {
		command_clear(c);
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	c->nwords = nwords;
	c->min_args = min_args;
	c->max_args = max_args;
	c->flags = flags;
	c->handler = handler;
	c->builtin = builtin;
	c->owner = owner;
	d->n++;
	d->sorted = false;
	return 0;
}

void
dispatch_remove_owner(struct dispatch *d, struct plugin *owner)
{
	size_t o = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (owner != NULL && d->cmds[i].owner == owner) {
			command_clear(&d->cmds[i]);
			continue;
		}
		d->cmds[o++] = d->cmds[i];
	}
	d->n = o;
	d->sorted = false;	/* rebuild the index */
}

/*
 * Compare the first word of a (normalised) name with a request word,
 * ignoring the word's case.  Names sort by this, so lookups can bisect.
 */
static int
cmp_first_word(const char *name, const char *word)
{
	for (;; name++, word++) {
		int a = (*name == ' ') ? '\0' : (unsigned char)*name;
		int b = ascii_lower((unsigned char)*word);

		if (a != b || a == '\0')
			return a - b;
	}
}

static int
cmp_commands(const void *pa, const void *pb)
{
	const struct command *a = pa, *b = pb;
	char first[128];
	size_t n = strcspn(b->name, " ");
	int r;

	memcpy(first, b->name, n);
	first[n] = '\0';
	if ((r = cmp_first_word(a->name, first)) != 0)
		return r;
	/* Longer names first, so the first match is the longest. */
	if (a->nwords != b->nwords)
		return b->nwords - a->nwords;
	return strcmp(a->name, b->name);
}

static void
dispatch_sort(struct dispatch *d)
{
	size_t nslots = 16;

	if (d->sorted)
		return;
	if (d->n > 0)	/* cmds is NULL while the table is empty */
		qsort(d->cmds, d->n, sizeof(d->cmds[0]), cmp_commands);
	d->sorted = true;

	/* At most half full, so probes stay short. */
	while (nslots < d->n * 2)
		nslots *= 2;
	free(d->index);
	d->nslots = 0;
	d->maxwords = 0;
	if ((d->index = calloc(nslots, sizeof(*d->index))) == NULL)
		return;		/* lookups fall back to bisection */
	d->nslots = nslots;
	for (size_t i = 0; i < d->n; i++) {
		uint32_t h = HASH_START;
		size_t slot;

		for (const char *p = d->cmds[i].name; *p != '\0'; p++)
			h = hash_byte(h, (unsigned char)*p);
		slot = h & (nslots - 1);
		while (d->index[slot] != 0)
			slot = (slot + 1) & (nslots - 1);
		d->index[slot] = (uint32_t)i + 1;
		if (d->cmds[i].nwords > d->maxwords)
			d->maxwords = d->cmds[i].nwords;
	}
}

/* The entry named exactly name[0..len) (lower case, one space between
 * words) with hash h, or NULL. */
static const struct command *
index_find(struct dispatch *d, uint32_t h, const char *name, size_t len)
{
	for (size_t slot = h & (d->nslots - 1); d->index[slot] != 0;
	    slot = (slot + 1) & (d->nslots - 1)) {
		const struct command *c = &d->cmds[d->index[slot] - 1];

		/* strncmp: a shorter name must not be read past its end. */
		if (strncmp(c->name, name, len) == 0 && c->name[len] == '\0')
			return c;
	}
	return NULL;
}

/* Longest match of argv's first words through the index. */
static const struct command *
index_lookup(struct dispatch *d, int argc, char *const *argv)
{
	char low[NAME_MAX_LEN];
	size_t ends[DISPATCH_MAX_NAME_WORDS];
	uint32_t hashes[DISPATCH_MAX_NAME_WORDS], h = HASH_START;
	size_t len = 0;
	int words = 0, most = d->maxwords;	/* <= DISPATCH_MAX_NAME_WORDS */

	if (most > argc)
		most = argc;
	for (; words < most; words++) {
		const char *a = argv[words];

		if (words > 0) {
			if (len == sizeof(low))
				break;
			low[len++] = ' ';
			h = hash_byte(h, ' ');
		}
		for (; *a != '\0'; a++) {
			if (len == sizeof(low))
				goto longer;	/* longer than any name */
			low[len] = (char)ascii_lower((unsigned char)*a);
			h = hash_byte(h, (unsigned char)low[len]);
			len++;
		}
		ends[words] = len;
		hashes[words] = h;
	}
longer:
	while (words-- > 0) {
		const struct command *c;

		if ((c = index_find(d, hashes[words], low, ends[words])) != NULL)
			return c;
	}
	return NULL;
}

/* Index of the first entry whose first word is word, or d->n. */
static size_t
dispatch_first(struct dispatch *d, const char *word)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_first_word(d->cmds[mid].name, word) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Do the name's words equal argv[0..nwords) (case-insensitively)? */
static bool
name_matches(const struct command *c, char *const *argv)
{
	const char *p = c->name;

	for (int w = 0; w < c->nwords; w++) {
		const char *a = argv[w];

		for (; *p != ' ' && *p != '\0'; p++, a++)
			if (ascii_lower((unsigned char)*a) != *p)
				return false;
		if (*a != '\0')
			return false;
		if (*p == ' ')
			p++;
	}
	return true;
}

const struct command *
dispatch_lookup(struct dispatch *d, int argc, char *const *argv)
{
	if (argc < 1)
		return NULL;
	dispatch_sort(d);
	if (d->index != NULL)
		return index_lookup(d, argc, argv);
	for (size_t i = dispatch_first(d, argv[0]); i < d->n; i++) {
		const struct command *c = &d->cmds[i];

		if (cmp_first_word(c->name, argv[0]) != 0)
			break;
		if (c->nwords <= argc && name_matches(c, argv))
			return c;
	}
	return NULL;
}

const struct command *
dispatch_find(struct dispatch *d, const char *name)
{
	char norm[128];
	int nwords;

	if (dispatch_normalise(name, norm, sizeof(norm), &nwords) == -1)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->cmds[i].name, norm) == 0)
			return &d->cmds[i];
	return NULL;
}

bool
dispatch_args_ok(const struct command *cmd, int nargs)
{
	if (nargs < cmd->min_args)
		return false;
	return cmd->max_args == PICMD_ARGS_ANY || nargs <= cmd->max_args;
}

static int
cmp_names(const void *pa, const void *pb)
{
	const struct command *const *a = pa, *const *b = pb;

	return strcmp((*a)->name, (*b)->name);
}

void
dispatch_list(struct dispatch *d, struct strbuf *out)
{
	const struct command **v;

	if ((v = calloc(d->n ? d->n : 1, sizeof(*v))) == NULL) {
		out->failed = true;
		return;
	}
	for (size_t i = 0; i < d->n; i++)
		v[i] = &d->cmds[i];
	qsort(v, d->n, sizeof(*v), cmp_names);
	for (size_t i = 0; i < d->n; i++) {
		if (i > 0)
			strbuf_addc(out, ' ');
		for (const char *p = v[i]->name; *p != '\0'; p++)
			strbuf_addc(out, *p == ' ' ? '.' : *p);
	}
	free(v);
}
