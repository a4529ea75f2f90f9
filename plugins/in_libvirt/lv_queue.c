/* lv_queue.c - see lv_queue.h. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "lv_queue.h"
#include "util.h"

int lv_queue_init(struct lv_queue *q, unsigned max)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
	q->max = max;
	q->pushed = q->high_water = 0;
	q->overflowed = false;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		int e = errno;
		q->tail = NULL;         /* not made: nothing to destroy */
		errno = e;
		return -e;
	}
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void lv_queue_destroy(struct lv_queue *q)
{
	struct lv_obs *o = q->head;

	while (o) {
		struct lv_obs *next = o->next;
		lv_obs_free(o);
		o = next;
	}
	q->head = NULL;
	q->tail = &q->head;
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
	pthread_mutex_destroy(&q->lock);
}

static void wake(struct lv_queue *q)
{
	uint64_t one = 1;
	ssize_t r = write(q->efd, &one, sizeof one);

	(void)r;   /* EAGAIN: the counter is already non-zero, the reader is woken */
}

bool lv_queue_push(struct lv_queue *q, struct lv_obs *o)
{
	bool room;

	o->next = NULL;
	pthread_mutex_lock(&q->lock);
	*q->tail = o;
	q->tail = &o->next;
	q->n++;
	q->pushed++;
	if (q->n > q->high_water)
		q->high_water = q->n;
	room = q->n < q->max;
	if (!room)
		q->overflowed = true;
	pthread_mutex_unlock(&q->lock);
	wake(q);
	return room;
}

struct lv_obs *lv_queue_take(struct lv_queue *q)
{
	uint64_t v;
	struct lv_obs *list;
	ssize_t r = read(q->efd, &v, sizeof v);

	(void)r;
	pthread_mutex_lock(&q->lock);
	list = q->head;
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
	pthread_mutex_unlock(&q->lock);
	return list;
}

void lv_queue_unget(struct lv_queue *q, struct lv_obs *list)
{
	struct lv_obs *last;
	unsigned n = 0;

	if (!list)
		return;
	for (last = list; ; last = last->next) {
		n++;
		if (!last->next)
			break;
	}
	pthread_mutex_lock(&q->lock);
	last->next = q->head;
	if (!q->head)
		q->tail = &last->next;
	q->head = list;
	q->n += n;
	pthread_mutex_unlock(&q->lock);
	wake(q);
}

unsigned lv_queue_len(struct lv_queue *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

bool lv_queue_full(struct lv_queue *q)
{
	return lv_queue_len(q) >= q->max;
}

bool lv_queue_take_overflow(struct lv_queue *q)
{
	bool o;

	pthread_mutex_lock(&q->lock);
	o = q->overflowed;
	q->overflowed = false;
	pthread_mutex_unlock(&q->lock);
	return o;
}
