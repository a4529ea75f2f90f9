/* ratekey.h - log a refusal once per peer and reason, not once per attempt.
 *
 * A refused forwarder retries every few seconds and a hostile one may
 * retry as fast as it can; hvt_ratelimit (log.h) limits one message kind
 * as a whole, so a second peer's refusal would be hidden behind the first.
 * Here each key ("10.0.0.7 expired") is limited on its own: its first
 * occurrence is logged at once, repeats within the interval are counted
 * and the count is appended to the key's next line.  The table is fixed
 * (a flood of distinct keys evicts the oldest), and a global ceiling of
 * lines per second keeps many source addresses from flooding the log. */
#ifndef HVT_RATEKEY_H
#define HVT_RATEKEY_H

#include <pthread.h>
#include <stdint.h>

#define HVT_RATEKEY_SLOTS 64
#define HVT_RATEKEY_MAX_PER_S 20

struct hvt_ratekey {
	pthread_mutex_t lock;
	unsigned interval_ms;
	struct {
		uint64_t key;
		long long last_us;
		unsigned suppressed;
	} slot[HVT_RATEKEY_SLOTS];
	long long second_start_us;    /* the global ceiling's current second */
	unsigned lines_this_second;
	unsigned overflow;            /* lines dropped by the ceiling, reported later */
};

void hvt_ratekey_init(struct hvt_ratekey *rk, unsigned interval_ms);
void hvt_ratekey_destroy(struct hvt_ratekey *rk);
/* Log (at level) unless this key was logged within the interval. */
void hvt_log_ratekey(struct hvt_ratekey *rk, const char *key, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
