/* sender_fsm.c - see sender_fsm.h. */
#include "config.h"

#include "sender_fsm.h"

enum sender_action sender_decide(const struct sender_view *v)
{
	if (v->stopping && (v->deadline_passed || v->caught_up))
		return SENDER_FINISH;
	if (!v->connected) {
		if (!v->stopping && v->caught_up && v->compat)
			return SENDER_AWAIT_DEMAND;
		if (v->fruitless)     /* never retry at once what the collector refused */
			return v->stopping ? SENDER_FINISH : SENDER_BACKOFF;
		return SENDER_CONNECT;
	}
	if (v->seal_due)
		return SENDER_SEAL;
	if (!v->drained)
		return SENDER_FRAME;
	if (v->in_flight && (v->idle || v->stopping))
		return SENDER_CONFIRM;
	if (!v->compat && v->stats_due)
		return SENDER_STATS;
	if (v->stopping)
		return SENDER_FINISH;
	return SENDER_WAIT;
}

const char *sender_action_name(enum sender_action a)
{
	static const char *const names[] = {
		[SENDER_FINISH] = "finish", [SENDER_AWAIT_DEMAND] = "await_demand", [SENDER_BACKOFF] = "backoff",
		[SENDER_CONNECT] = "connect", [SENDER_SEAL] = "seal", [SENDER_FRAME] = "frame",
		[SENDER_CONFIRM] = "confirm", [SENDER_STATS] = "stats", [SENDER_WAIT] = "wait",
	};
	return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
