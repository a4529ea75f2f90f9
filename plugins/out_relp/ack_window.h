/* ack_window.h - knowing what the collector has acknowledged, with librelp.
 *
 * librelp (1.11) never tells its caller which frame was acknowledged.  What
 * it does guarantee: relpCltSendSyslog() first waits until fewer than W
 * frames are unacknowledged (W = the window), then sends.  So when the call
 * for frame f returns, at most W frames are outstanding, and the collector
 * answers frames in order; hence every frame <= f - W has been answered
 * "200 OK".  A frame answered with an error would also leave the window,
 * but librelp then reports "peer sent error response" through its error
 * callback and the session is thrown away without moving the checkpoint.
 * tests/relp-ack.test checks this against a real librelp server that
 * withholds acknowledgements.
 *
 * This ring remembers, for the last W+1 frames of a session, the highest
 * spool record each carried. */
#ifndef HVT_ACK_WINDOW_H
#define HVT_ACK_WINDOW_H

#include <stdint.h>

struct ack_window {
	int w;                /* the RELP window */
	uint64_t *last_seq;   /* ring of W+1: highest record in frame f */
	uint64_t frames;      /* frames sent in this session */
	uint64_t acked;       /* highest record known acknowledged */
};

void ack_window_init(struct ack_window *a, int w);
void ack_window_free(struct ack_window *a);
void ack_window_reset(struct ack_window *a);      /* new session */
/* Frame f = ++frames carried records up to last_seq (0 = none, a sync
 * frame: it inherits the previous frame's value).  Returns the highest
 * record now known acknowledged. */
uint64_t ack_window_sent(struct ack_window *a, uint64_t last_seq);
/* Frames that must still be sent before every real frame so far is known
 * acknowledged. */
int ack_window_sync_needed(const struct ack_window *a, uint64_t last_real_seq);

#endif
