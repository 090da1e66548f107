/*
 * ticker: the example of docs/PLUGINS.md ("Publishing events"), a plugin
 * with a thread of its own that publishes "! ticker.tick <n> seq=..."
 * every [ticker] interval_ms (default 1000), until fini stops it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include <picmd/plugin.h>

static const struct picmd_api *api;

struct ticker {
	picmd_host	*host;
	long		 interval_ms;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cond;
	bool		 stop;
};

static void *
tick(void *arg)
{
	struct ticker *t = arg;
	struct timespec next;
	unsigned long n = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		next.tv_nsec += (t->interval_ms % 1000) * 1000000L;
		next.tv_sec += t->interval_ms / 1000 + next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		/* Sleeps until the next tick or until fini says stop. */
		if (pthread_cond_timedwait(&t->cond, &t->mu, &next) == 0)
			continue;
		api->publish(t->host, "ticker.tick", "%lu", ++n);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static void
ticker_fini(void *state)
{
	struct ticker *t = state;

	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static int
ticker_init(const struct picmd_api *host, picmd_init *init)
{
	const char *v = host->config_get(init, "interval_ms");
	pthread_condattr_t ca;
	struct ticker *t;

	api = host;
	if (api->size < offsetof(struct picmd_api, publish) +
	    sizeof(api->publish)) {
		api->log(PICMD_LOG_ERROR, "ticker: this picmdd cannot publish");
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->host = api->host(init);
	t->interval_ms = v != NULL ? atol(v) : 1000;
	if (t->interval_ms < 1 || t->interval_ms > 3600000) {
		api->config_error(init, "interval_ms", "interval_ms must be 1 "
		    "to 3600000");
		free(t);
		return -1;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, tick, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->mu);
		free(t);
		return -1;
	}
	api->set_state(init, t);	/* fini stops the thread */
	return 0;
}

PICMD_EXPORT const struct picmd_plugin picmd_plugin = {
	.abi_version = PICMD_ABI_VERSION,
	.size = sizeof(struct picmd_plugin),
	.name = "ticker",
	.version = "1.0",
	.init = ticker_init,
	.fini = ticker_fini,
};
