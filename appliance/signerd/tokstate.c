/*
 * appliance/signerd/tokstate.c: whether the token holding the CAPF CA key is
 * usable, and bringing it back after an outage.
 *
 * A signature that fails because the token is unavailable (device error,
 * token gone, session or handle invalid, login failing, the module's server
 * unreachable: signerd_ca_sign's retry) marks the token down. While it is
 * down, BEGIN answers RETRY_LATER before the phone spends time generating a
 * key (front.c), and a thread of ours probes it every SIGNERD_TOKEN_RECOVER_MS
 * (while it is up, every SIGNERD_TOKEN_HEALTH_MS, so that an outage is known
 * even when no phone is enrolling):
 * one test signature with the active CA key in the key process (KEY_PROBE),
 * whose provider re-opens its sessions, logs in again and, when the module is
 * wedged, re-initialises it (C_Finalize, C_Initialize), itself rate-limited.
 * A key process that died counts the same way until its successor is ready. The first probe that signs brings the token
 * back up: enrollments resume without a restart. Each transition is logged
 * (token_down, token_up with the outage's length); the provider's own events
 * (recovery, re-initialisation, refused PIN) arrive as token_event lines.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "appliance/common/log.h"
#include "appliance/common/x509.h"
#include "appliance/signerd/signerd_int.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stop;
	atomic_int down;
	struct timespec since; /* CLOCK_MONOTONIC, when it went down */
	time_t since_wall;
	char why[300];
	atomic_uint_fast64_t outages, recoveries, probes, begin_retry_later;
	uint64_t last_outage_ms;
} ts = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static uint64_t ms_since(const struct timespec *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - a->tv_sec) * 1000L + (now.tv_nsec - a->tv_nsec) / 1000000L);
}

void signerd_token_failed(struct signerd *sd, const char *why)
{
	char q[400];

	(void)sd;
	pthread_mutex_lock(&ts.mu);
	if (!atomic_load(&ts.down)) {
		clock_gettime(CLOCK_MONOTONIC, &ts.since);
		ts.since_wall = time(NULL);
		snprintf(ts.why, sizeof(ts.why), "%s", why);
		atomic_store(&ts.down, 1);
		atomic_fetch_add(&ts.outages, 1);
		capf_log(LOG_ERR, "token_down",
			 "error=%s action=\"BEGIN answers RETRY_LATER; re-opening "
			 "the token every %d ms\"",
			 capf_log_quote(q, sizeof(q), why), SIGNERD_TOKEN_RECOVER_MS);
		pthread_cond_signal(&ts.cv);
	}
	pthread_mutex_unlock(&ts.mu);
}

int signerd_token_usable(struct signerd *sd)
{
	(void)sd;
	if (!atomic_load(&ts.down))
		return 1;
	atomic_fetch_add(&ts.begin_retry_later, 1);
	return 0;
}

/* One test signature with the active CA key, in the key process: 0 when it signs. */
static int probe(struct signerd *sd, char *err, size_t errlen)
{
	struct signerd_ca *g = signerd_ca_get(sd);
	int rc;

	if (g == NULL) {
		snprintf(err, errlen, "no active CAPF CA");
		return -1;
	}
	rc = signerd_key_probe(sd, g->slot, NULL, err, errlen);
	signerd_ca_put(g);
	return rc;
}

static void *prober(void *arg)
{
	struct signerd *sd = arg;
	char err[512], q[600];

	pthread_mutex_lock(&ts.mu);
	while (!ts.stop) {
		struct timespec dl;

		int was_down = atomic_load(&ts.down);
		/* down: the first probe after the gap the provider's rate limit asks
		 * for; up: a health check now and then, so that an outage with no
		 * enrollment running is known before the next phone generates a key */
		unsigned ms = was_down ? SIGNERD_TOKEN_RECOVER_MS : SIGNERD_TOKEN_HEALTH_MS;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += (long)(ms % 1000) * 1000000L;
		dl.tv_sec += ms / 1000 + dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&ts.cv, &ts.mu, &dl) != ETIMEDOUT || ts.stop)
			continue;
		if (atomic_load(&ts.down) != was_down)
			continue;
		pthread_mutex_unlock(&ts.mu);
		atomic_fetch_add(&ts.probes, 1);
		err[0] = '\0';
		int ok = probe(sd, err, sizeof(err)) == 0;
		if (!ok && !was_down) {
			signerd_token_failed(sd, err); /* takes ts.mu */
			pthread_mutex_lock(&ts.mu);
			continue;
		}
		pthread_mutex_lock(&ts.mu);
		if (ok && atomic_load(&ts.down)) {
			ts.last_outage_ms = ms_since(&ts.since);
			atomic_store(&ts.down, 0);
			atomic_fetch_add(&ts.recoveries, 1);
			capf_log(LOG_NOTICE, "token_up", "down_ms=%llu probes=%llu",
				 (unsigned long long)ts.last_outage_ms,
				 (unsigned long long)atomic_load(&ts.probes));
		} else if (!ok) {
			capf_log(LOG_WARNING, "token_still_down", "down_ms=%llu error=%s",
				 (unsigned long long)ms_since(&ts.since), capf_log_quote(q, sizeof(q), err));
		}
	}
	pthread_mutex_unlock(&ts.mu);
	return NULL;
}

int signerd_token_watch_start(struct signerd *sd, char *err, size_t errlen)
{
	int e;

	if ((e = pthread_create(&ts.thread, NULL, prober, sd)) != 0) {
		snprintf(err, errlen, "token watch thread: %s", strerror(e));
		return -1;
	}
	ts.started = 1;
	return 0;
}

void signerd_token_watch_stop(struct signerd *sd)
{
	(void)sd;
	if (!ts.started)
		return;
	pthread_mutex_lock(&ts.mu);
	ts.stop = 1;
	pthread_cond_broadcast(&ts.cv);
	pthread_mutex_unlock(&ts.mu);
	pthread_join(ts.thread, NULL);
	ts.started = 0;
}

void signerd_token_state_get(struct signerd *sd, struct signerd_token_state *out)
{
	(void)sd;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ts.mu);
	out->down = atomic_load(&ts.down);
	if (out->down) {
		out->down_ms = ms_since(&ts.since);
		out->since = ts.since_wall;
		snprintf(out->why, sizeof(out->why), "%s", ts.why);
	}
	out->last_outage_ms = ts.last_outage_ms;
	pthread_mutex_unlock(&ts.mu);
	out->outages = atomic_load(&ts.outages);
	out->recoveries = atomic_load(&ts.recoveries);
	out->begin_retry_later = atomic_load(&ts.begin_retry_later);
}

const char *signerd_token_state_text(struct signerd *sd, char *buf, size_t len)
{
	struct signerd_token_state s;

	signerd_token_state_get(sd, &s);
	if (!s.down)
		snprintf(buf, len, "token up (outages %llu, recovered %llu)", (unsigned long long)s.outages,
			 (unsigned long long)s.recoveries);
	else
		snprintf(buf, len,
			 "token DOWN for %llu ms: %.300s; enrollments answered RETRY_LATER until "
			 "it is back",
			 (unsigned long long)s.down_ms, s.why);
	return buf;
}
