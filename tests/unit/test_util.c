/* test_util.c - lib/util.c: the growable buffer under hostile sizes. */
#include "testutil.h"

#include <signal.h>
#include <stdint.h>

#include "util.h"

START_TEST(buf_grows_and_terminates)
{
	struct hvt_buf b = { 0 };

	for (int i = 0; i < 1000; i++)
		hvt_buf_append(&b, "0123456789", 10);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert(b.cap > b.len);
	ck_assert_int_eq(b.data[b.len], '\0');
	hvt_buf_printf(&b, "%s", "x");
	ck_assert_uint_eq(b.len, 10001);
	hvt_buf_free(&b);
}
END_TEST

/* A size that wraps len + extra + 1 must not "fit" (and let the append that
 * follows write past the buffer): it stops the process like a failed
 * allocation. */
START_TEST(buf_reserve_overflow_aborts)
{
	struct hvt_buf b = { 0 };

	hvt_buf_append(&b, "abc", 3);
	hvt_buf_reserve(&b, SIZE_MAX - 2);
	/* not reached: the reservation must abort */
	hvt_buf_free(&b);
}
END_TEST

START_TEST(buf_reserve_overflow_empty_aborts)
{
	struct hvt_buf b = { 0 };

	hvt_buf_reserve(&b, SIZE_MAX);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, buf_grows_and_terminates);
	tcase_add_test_raise_signal(tc, buf_reserve_overflow_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, buf_reserve_overflow_empty_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(util_suite());
}
