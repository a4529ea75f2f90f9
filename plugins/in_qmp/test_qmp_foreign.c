/* test_qmp_foreign.c - the monitors in_qmp leaves alone: another manager's
 * directories (through symlinks too) and socket names. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qmp_foreign.h"

START_TEST(managers_directories)
{
	char why[256];
	static const char *const foreign[] = {
		"/run/xen", "/var/run/xen", "/run/xen/sub", "/run/qemu-server", "/var/run/qemu-server",
		"/var/lib/libvirt/qemu", "/var/lib/libvirt/qemu/domain-1-web01", "/run/libvirt/qemu",
	};
	static const char *const ours[] = {
		"/run/hvtrail/qmp", "/run/xenial", "/var/lib/libvirtx", "/srv/qmp", "/run",
	};

	for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
		ck_assert_msg(qmp_foreign_dir(foreign[i], why, sizeof why), "%s not refused", foreign[i]);
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
		ck_assert_msg(!qmp_foreign_dir(ours[i], why, sizeof why), "%s refused: %s", ours[i], why);
	ck_assert(qmp_foreign_dir("/run/xen", why, sizeof why));
	ck_assert(strstr(why, "Xen"));
}
END_TEST

START_TEST(through_a_symlink)
{
	char tmpl[] = "/tmp/qmp_foreign.XXXXXX", link[256], why[256];

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(link, sizeof link, "%s/qmp", tmpl);
	ck_assert_int_eq(symlink("/var/lib/libvirt", link), 0);
	/* only where the target exists can the link be resolved */
	if (access("/var/lib/libvirt", F_OK) == 0)
		ck_assert(qmp_foreign_dir(link, why, sizeof why));
	unlink(link);
	rmdir(tmpl);
}
END_TEST

START_TEST(managers_names)
{
	char why[256];

	ck_assert(qmp_foreign_name("qmp-libxl-3", why, sizeof why));
	ck_assert(qmp_foreign_name("qmp-libxenstat-12", why, sizeof why));
	ck_assert(qmp_foreign_name("100.qmp", why, sizeof why));
	ck_assert(qmp_foreign_name("monitor.sock", why, sizeof why));
	ck_assert(!qmp_foreign_name("web01.sock", why, sizeof why));
	ck_assert(!qmp_foreign_name("web01.qmp", why, sizeof why));
	ck_assert(!qmp_foreign_name("qmp-libxl", why, sizeof why));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qmp_foreign");
	TCase *t = tcase_create("foreign");
	tcase_add_test(t, managers_directories);
	tcase_add_test(t, through_a_symlink);
	tcase_add_test(t, managers_names);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
