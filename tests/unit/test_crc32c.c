/* test_crc32c.c - the CRC-32C of spool records: the known check value, and
 * the hardware and table versions agree (spools move between machines). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

START_TEST(check_value)
{
	ck_assert_uint_eq(hvt_crc32c(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(hvt_crc32c_portable(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(hvt_crc32c(0, "", 0), 0);
}
END_TEST

START_TEST(versions_agree)
{
	unsigned char buf[4099];

	srand(7);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)rand();
	for (size_t len = 0; len < sizeof buf; len += 1 + len / 3)
		for (size_t off = 0; off < 8; off++) {
			size_t n = len > off ? len - off : 0;
			ck_assert_uint_eq(hvt_crc32c(0x1234, buf + off, n), hvt_crc32c_portable(0x1234, buf + off, n));
		}
	/* chaining: crc(a+b) == crc(crc(a), b) */
	ck_assert_uint_eq(hvt_crc32c(hvt_crc32c(0, buf, 100), buf + 100, 200), hvt_crc32c(0, buf, 300));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crc32c");
	TCase *t = tcase_create("crc32c");
	SRunner *r;

	tcase_add_test(t, check_value);
	tcase_add_test(t, versions_agree);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
