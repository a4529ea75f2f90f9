/* lv_queue.h - observations from the libvirt thread to the forwarder's.
 *
 * Many producers (the libvirt thread), one consumer (the forwarder's event
 * loop, woken through an eventfd).  The queue is bounded: libvirt cannot be
 * asked to wait, so when the forwarder stops reading (the spool is full) and
 * the queue reaches its bound, lv_queue_push says so and the connection
 * lets go of libvirt (lv_conn.c); what changed meanwhile comes back with
 * the resync when the forwarder reads again.  Nothing queued is dropped. */
#ifndef HVT_LV_QUEUE_H
#define HVT_LV_QUEUE_H

#include <pthread.h>
#include <stdbool.h>

#include "lv_obs.h"

struct lv_queue {
	pthread_mutex_t lock;
	struct lv_obs *head, **tail;
	unsigned n, max;
	int efd;                      /* readable while the queue is not empty */
	unsigned long long pushed, high_water;
	bool overflowed;              /* reached max since the last lv_queue_take_overflow */
};

int lv_queue_init(struct lv_queue *q, unsigned max);
void lv_queue_destroy(struct lv_queue *q);
/* Append (ownership passes).  Returns false when the queue has reached its
 * bound (the observation is queued anyway). */
bool lv_queue_push(struct lv_queue *q, struct lv_obs *o);
/* Take everything queued, oldest first (NULL: nothing). */
struct lv_obs *lv_queue_take(struct lv_queue *q);
/* Put back what was taken but not used (at the head, in order). */
void lv_queue_unget(struct lv_queue *q, struct lv_obs *list);
unsigned lv_queue_len(struct lv_queue *q);
/* Did the queue reach its bound since the last call? (clears it) */
bool lv_queue_take_overflow(struct lv_queue *q);
bool lv_queue_full(struct lv_queue *q);

#endif
