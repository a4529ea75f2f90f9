/* ack_window.c - see ack_window.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ack_window.h"
#include "util.h"

void ack_window_init(struct ack_window *a, int w)
{
	memset(a, 0, sizeof *a);
	a->w = w;
	a->last_seq = hvt_calloc((size_t)w + 1, sizeof(uint64_t));
}

void ack_window_free(struct ack_window *a)
{
	free(a->last_seq);
	a->last_seq = NULL;
}

void ack_window_reset(struct ack_window *a)
{
	memset(a->last_seq, 0, sizeof(uint64_t) * ((size_t)a->w + 1));
	a->frames = 0;
}

uint64_t ack_window_sent(struct ack_window *a, uint64_t last_seq)
{
	size_t ring = (size_t)a->w + 1;

	if (!last_seq && a->frames)
		last_seq = a->last_seq[(a->frames - 1) % ring];
	a->frames++;
	a->last_seq[(a->frames - 1) % ring] = last_seq;
	if (a->frames > (uint64_t)a->w) {
		uint64_t done = a->last_seq[(a->frames - 1 - (uint64_t)a->w) % ring];
		if (done > a->acked)
			a->acked = done;
	}
	return a->acked;
}

int ack_window_sync_needed(const struct ack_window *a, uint64_t last_real_seq)
{
	size_t ring = (size_t)a->w + 1;

	if (last_real_seq <= a->acked || !a->frames)
		return 0;
	/* find the newest frame holding last_real_seq: frames after it that
	 * count toward the window are those sent since */
	uint64_t since = 0;
	for (uint64_t f = a->frames; f > 0 && since <= (uint64_t)a->w; f--, since++) {
		uint64_t prev = f >= 2 ? a->last_seq[(f - 2) % ring] : 0;
		if (a->last_seq[(f - 1) % ring] == last_real_seq && prev < last_real_seq)
			break;
	}
	int need = a->w - (int)since;
	return need > 0 ? need : 0;
}
