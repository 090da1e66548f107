/*
 * Topics and subscription sets (topic.h).
 */
#include <stdlib.h>
#include <string.h>

#include "topic.h"

static bool
word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

const char *
topic_check(const char *s, bool pattern)
{
	size_t len = strlen(s);
	size_t word = 0;

	if (len == 0)
		return "empty topic";
	if (len > TOPIC_MAX)
		return "topic longer than 64 bytes";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '*') {
			if (!pattern)
				return "'*' in a published topic";
			/* Only as the last byte, after a whole word and its
			 * dot: "gpio.*" and "*", not "gp*" or "*.17". */
			if (i != len - 1)
				return "'*' only at the end of a topic";
			if (word != 0)
				return "'*' must follow a '.'";
			return NULL;
		}
		if (c == '.') {
			if (word == 0)
				return "empty word in a topic";
			word = 0;
			continue;
		}
		if (!word_char(c))
			return "a topic has letters, digits, '_', '-' and '.'";
		word++;
	}
	if (word == 0)
		return "a topic must not end with '.'";
	return NULL;
}

bool
topic_match(const char *pattern, const char *topic)
{
	size_t len = strlen(pattern);

	if (len > 0 && pattern[len - 1] == '*')
		return strncmp(pattern, topic, len - 1) == 0;
	return strcmp(pattern, topic) == 0;
}

static int
subs_find(const struct subs *s, const char *pattern)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->pat[i], pattern) == 0)
			return (int)i;
	return -1;
}

enum subs_result
subs_add(struct subs *s, const char *pattern)
{
	char *copy;

	if (subs_find(s, pattern) >= 0)
		return SUBS_PRESENT;
	if (s->n == SUBS_MAX)
		return SUBS_FULL;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 4;
		char **pat = realloc(s->pat, cap * sizeof(*pat));

		if (pat == NULL)
			return SUBS_NOMEM;
		s->pat = pat;
		s->cap = cap;
	}
	if ((copy = strdup(pattern)) == NULL)
		return SUBS_NOMEM;
	s->pat[s->n++] = copy;
	return SUBS_ADDED;
}

bool
subs_remove(struct subs *s, const char *pattern)
{
	int i = subs_find(s, pattern);

	if (i < 0)
		return false;
	free(s->pat[i]);
	/* Keep the order of subscription: SUBSCRIPTIONS lists it. */
	memmove(&s->pat[i], &s->pat[i + 1],
	    (s->n - (unsigned)i - 1) * sizeof(*s->pat));
	s->n--;
	return true;
}

bool
subs_match(const struct subs *s, const char *topic)
{
	for (unsigned i = 0; i < s->n; i++)
		if (topic_match(s->pat[i], topic))
			return true;
	return false;
}

void
subs_clear(struct subs *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->pat[i]);
	free(s->pat);
	s->pat = NULL;
	s->n = s->cap = 0;
}
