/* ratekey.c - see ratekey.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ratekey.h"
#include "util.h"

void hvt_ratekey_init(struct hvt_ratekey *rk, unsigned interval_ms)
{
	memset(rk, 0, sizeof *rk);
	pthread_mutex_init(&rk->lock, NULL);
	rk->interval_ms = interval_ms;
}

void hvt_ratekey_destroy(struct hvt_ratekey *rk)
{
	pthread_mutex_destroy(&rk->lock);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h | 1;                 /* 0 marks a free slot */
}

/* true: log now, with *suppressed repeats (and *overflow ceiling drops) to report. */
static bool allow(struct hvt_ratekey *rk, const char *key, unsigned *suppressed, unsigned *overflow)
{
	uint64_t h = fnv1a(key);
	long long now = hvt_mono_us();
	int victim = 0;
	bool ok = false;

	pthread_mutex_lock(&rk->lock);
	for (int i = 0; i < HVT_RATEKEY_SLOTS; i++) {
		if (rk->slot[i].key == h) {
			victim = i;
			goto found;
		}
		if (rk->slot[i].last_us < rk->slot[victim].last_us)
			victim = i;           /* free (0) or the least recent */
	}
	rk->slot[victim].key = h;
	rk->slot[victim].last_us = 0;
	rk->slot[victim].suppressed = 0;
found:
	if (rk->slot[victim].last_us && now - rk->slot[victim].last_us < (long long)rk->interval_ms * 1000) {
		rk->slot[victim].suppressed++;
		goto out;
	}
	if (now - rk->second_start_us >= 1000000) {
		rk->second_start_us = now;
		rk->lines_this_second = 0;
	}
	if (rk->lines_this_second >= HVT_RATEKEY_MAX_PER_S) {
		rk->overflow++;
		goto out;
	}
	rk->lines_this_second++;
	*suppressed = rk->slot[victim].suppressed;
	*overflow = rk->overflow;
	rk->slot[victim].suppressed = 0;
	rk->slot[victim].last_us = now;
	rk->overflow = 0;
	ok = true;
out:
	pthread_mutex_unlock(&rk->lock);
	return ok;
}

void hvt_log_ratekey(struct hvt_ratekey *rk, const char *key, int level, const char *fmt, ...)
{
	unsigned suppressed = 0, overflow = 0;
	char msg[1800];
	va_list ap;

	if (!allow(rk, key, &suppressed, &overflow))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (suppressed || overflow)
		hvt_log(level, "%s (%u more like it not logged%s)", msg, suppressed + overflow,
			overflow ? ", some from other peers" : "");
	else
		hvt_log(level, "%s", msg);
}
