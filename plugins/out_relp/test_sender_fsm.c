/* test_sender_fsm.c - out_relp's sender decisions (sender_fsm.h), one case
 * per rule, each named for what it protects. */
#include "config.h"

#include <check.h>

#include "sender_fsm.h"

/* A connected, busy, healthy sender: the base the cases change. */
static struct sender_view busy(void)
{
	return (struct sender_view){ .connected = true };
}

#define DECIDES(v, want) \
	ck_assert_msg(sender_decide(&(v)) == (want), "decided %s, not %s", \
		      sender_action_name(sender_decide(&(v))), sender_action_name(want))

START_TEST(sends_frames_while_the_spool_has_records)
{
	struct sender_view v = busy();

	DECIDES(v, SENDER_FRAME);
	v.in_flight = v.idle = v.stats_due = true;   /* none of these before the spool is drained */
	DECIDES(v, SENDER_FRAME);
}
END_TEST

START_TEST(a_due_seal_goes_first_busy_or_not)
{
	struct sender_view v = busy();

	v.seal_due = true;
	DECIDES(v, SENDER_SEAL);
	v.drained = v.in_flight = v.idle = v.stats_due = true;
	DECIDES(v, SENDER_SEAL);
}
END_TEST

START_TEST(idle_with_frames_in_flight_confirms_them)
{
	struct sender_view v = busy();

	v.drained = v.in_flight = true;
	DECIDES(v, SENDER_WAIT);                     /* not idle for flush_idle yet */
	v.idle = true;
	DECIDES(v, SENDER_CONFIRM);
	v.idle = false;
	v.stopping = true;                           /* at stop: at once */
	DECIDES(v, SENDER_CONFIRM);
	v = busy();
	v.drained = v.idle = true;                   /* nothing in flight: nothing to confirm */
	DECIDES(v, SENDER_WAIT);
}
END_TEST

START_TEST(stats_when_due_but_never_in_compat_mode)
{
	struct sender_view v = busy();

	v.drained = v.stats_due = true;
	DECIDES(v, SENDER_STATS);
	v.compat = true;                             /* a stock rsyslog would index them */
	DECIDES(v, SENDER_WAIT);
}
END_TEST

START_TEST(connects_when_disconnected)
{
	struct sender_view v = { 0 };

	DECIDES(v, SENDER_CONNECT);
	v.caught_up = true;                          /* nothing to send: still keep a session */
	DECIDES(v, SENDER_CONNECT);
	v.compat = true;                             /* compat mode: connect on demand */
	DECIDES(v, SENDER_AWAIT_DEMAND);
	v.caught_up = false;
	DECIDES(v, SENDER_CONNECT);
}
END_TEST

START_TEST(a_fruitless_session_backs_off_before_reconnecting)
{
	struct sender_view v = { .fruitless = true };

	DECIDES(v, SENDER_BACKOFF);                  /* rsyslog#1741: no handshake storm */
	v.stopping = true;                           /* what the collector refuses stays spooled */
	DECIDES(v, SENDER_FINISH);
}
END_TEST

START_TEST(stopping_finishes_when_caught_up_or_out_of_time)
{
	struct sender_view v = busy();

	v.stopping = true;
	DECIDES(v, SENDER_FRAME);                    /* keep sending what is spooled */
	v.caught_up = true;
	DECIDES(v, SENDER_FINISH);
	v = busy();
	v.stopping = v.deadline_passed = true;       /* shutdown_timeout is up */
	v.seal_due = true;
	DECIDES(v, SENDER_FINISH);
	v = (struct sender_view){ .stopping = true };
	DECIDES(v, SENDER_CONNECT);                  /* unacknowledged: try to deliver */
	v = busy();
	v.stopping = v.drained = true;               /* nothing left to do in this session */
	DECIDES(v, SENDER_FINISH);
}
END_TEST

static Suite *fsm_suite(void)
{
	Suite *s = suite_create("sender_fsm");
	TCase *tc = tcase_create("decide");

	tcase_add_test(tc, sends_frames_while_the_spool_has_records);
	tcase_add_test(tc, a_due_seal_goes_first_busy_or_not);
	tcase_add_test(tc, idle_with_frames_in_flight_confirms_them);
	tcase_add_test(tc, stats_when_due_but_never_in_compat_mode);
	tcase_add_test(tc, connects_when_disconnected);
	tcase_add_test(tc, a_fruitless_session_backs_off_before_reconnecting);
	tcase_add_test(tc, stopping_finishes_when_caught_up_or_out_of_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fsm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
