/* sender_fsm.h - what out_relp's sender thread does next.
 *
 * The thread (out_relp.c: sender) looks at its session and the spool,
 * asks sender_decide() for the next action, carries it out, and asks
 * again.  Every rule about ordering lives in the decision, where
 * test_sender_fsm.c checks it case by case:
 *   - stopping: finish once everything is acknowledged or shutdown_timeout
 *     has passed; what the collector refuses stays spooled;
 *   - not connected: connect, but after a fruitless session only after a
 *     back-off (rsyslog#1741), and in compat mode only when there is
 *     something to send;
 *   - connected: a due seal first (seal what was sent, busy or not), then
 *     frames while the spool has records, then - idle with frames in flight
 *     - make the window confirm them, then a due stats report, then wait. */
#ifndef HVT_OUT_RELP_SENDER_FSM_H
#define HVT_OUT_RELP_SENDER_FSM_H

#include <stdbool.h>

struct sender_view {
	bool stopping;            /* this instance or the daemon is stopping */
	bool deadline_passed;     /* ...for longer than shutdown_timeout */
	bool caught_up;           /* every spooled record is acknowledged */
	bool connected;
	bool compat;              /* one event per frame, no control messages */
	bool fruitless;           /* the last session got nothing acknowledged */
	bool seal_due;            /* records sent since the last seal, seal_interval passed */
	bool drained;             /* the last frame found nothing to pack, nothing done since */
	bool in_flight;           /* records sent but not known to be acknowledged */
	bool idle;                /* nothing sent for flush_idle */
	bool stats_due;           /* stats_interval passed since the last report */
};

enum sender_action {
	SENDER_FINISH,            /* leave the loop: final seal, clean close */
	SENDER_AWAIT_DEMAND,      /* compat mode connects only when there is something to send */
	SENDER_BACKOFF,           /* wait the reconnect delay, then connect */
	SENDER_CONNECT,           /* try the targets in order */
	SENDER_SEAL,              /* sign the chain head of what was sent */
	SENDER_FRAME,             /* pack and send the next frame */
	SENDER_CONFIRM,           /* sync frames (or a clean close) confirm what is in flight */
	SENDER_STATS,             /* report spool depth and counters */
	SENDER_WAIT,              /* for new records, at most flush_idle */
};

enum sender_action sender_decide(const struct sender_view *v);
const char *sender_action_name(enum sender_action a);

#endif
