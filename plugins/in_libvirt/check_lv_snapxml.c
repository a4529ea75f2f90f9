/* check_lv_snapxml.c - the plugin's XML readers: the snapshot XML reader,
 * on the XML libvirt 9.0 wrote for an internal and a disk-only external
 * snapshot (the domain's own XML inside shortened), and on what it must
 * refuse; and lv_qmpxml.c's test of a domain's QMP monitor (at the end). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_qmpxml.h"
#include "lv_snapxml.h"

static const char internal_xml[] =
	"<domainsnapshot>\n"
	"  <name>s1</name>\n"
	"  <state>running</state>\n"
	"  <creationTime>1796625811</creationTime>\n"
	"  <memory snapshot='internal'/>\n"
	"  <disks>\n"
	"    <disk name='sda' snapshot='internal'/>\n"
	"  </disks>\n"
	"  <domain type='qemu'>\n"
	"    <name>tiny</name>\n"
	"    <uuid>5e1f0c2a-0000-4000-8000-000000000001</uuid>\n"
	"  </domain>\n"
	"</domainsnapshot>\n";

static const char external_xml[] =
	"<domainsnapshot>\n"
	"  <name>ext1</name>\n"
	"  <description>before the upgrade &amp; the reboot</description>\n"
	"  <state>disk-snapshot</state>\n"
	"  <parent>\n"
	"    <name>s1</name>\n"
	"  </parent>\n"
	"  <creationTime>1796625841</creationTime>\n"
	"  <memory snapshot='no'/>\n"
	"  <disks>\n"
	"    <disk name='sda' snapshot='external' type='file'>\n"
	"      <driver type='qcow2'/>\n"
	"      <source file='/var/lib/libvirt/images/d.ext1'/>\n"
	"    </disk>\n"
	"    <disk name='sdb' snapshot='no'/>\n"
	"  </disks>\n"
	"  <domain type='qemu'><name>tiny</name></domain>\n"
	"</domainsnapshot>\n";

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(internal_snapshot)
{
	char err[128];
	json_object *o = lv_snapxml_parse(internal_xml, strlen(internal_xml), err, sizeof err), *v;

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str(o, "name"), "s1");
	ck_assert_str_eq(str(o, "state"), "running");
	ck_assert_str_eq(str(o, "memory"), "internal");
	ck_assert_str_eq(str(o, "location"), "internal");
	ck_assert(json_object_object_get_ex(o, "created", &v));
	ck_assert_int_eq(json_object_get_int64(v), 1796625811);
	ck_assert(json_object_object_get_ex(o, "disks", &v));
	ck_assert_int_eq(json_object_array_length(v), 1);
	ck_assert_str_eq(str(json_object_array_get_idx(v, 0), "disk"), "sda");
	/* the domain's own <name> inside is not the snapshot's */
	ck_assert_ptr_null(str(o, "parent"));
	json_object_put(o);
}
END_TEST

START_TEST(external_snapshot)
{
	char err[128];
	json_object *o = lv_snapxml_parse(external_xml, strlen(external_xml), err, sizeof err), *v;

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str(o, "name"), "ext1");
	ck_assert_str_eq(str(o, "location"), "external");
	ck_assert_str_eq(str(o, "parent"), "s1");
	ck_assert_str_eq(str(o, "description"), "before the upgrade & the reboot");
	ck_assert(json_object_object_get_ex(o, "disks", &v));
	ck_assert_int_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(str(json_object_array_get_idx(v, 0), "file"), "/var/lib/libvirt/images/d.ext1");
	ck_assert_str_eq(str(json_object_array_get_idx(v, 1), "snapshot"), "no");
	json_object_put(o);
}
END_TEST

/* the XML libvirtd 9.0 wrote, whole (tests/fixtures/libvirt) */
static json_object *parse_fixture(const char *name)
{
	char path[512], err[128], buf[65536];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", LV_FIXTURES, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	json_object *o = lv_snapxml_parse(buf, n, err, sizeof err);
	ck_assert_msg(o != NULL, "%s: %s", name, err);
	return o;
}

START_TEST(libvirt_wrote)
{
	json_object *i = parse_fixture("snapshot-internal.xml"), *e = parse_fixture("snapshot-external.xml"), *v;

	ck_assert_str_eq(str(i, "name"), "s1");
	ck_assert_str_eq(str(i, "location"), "internal");
	ck_assert_str_eq(str(i, "description"), "before the upgrade");
	ck_assert_str_eq(str(e, "name"), "ext1");
	ck_assert_str_eq(str(e, "location"), "external");
	ck_assert_str_eq(str(e, "state"), "disk-snapshot");
	ck_assert_str_eq(str(e, "parent"), "s1");
	ck_assert(json_object_object_get_ex(e, "disks", &v));
	ck_assert_str_eq(str(json_object_array_get_idx(v, 0), "file"), "/var/lib/libvirt/images/disk.ext1");
	json_object_put(i);
	json_object_put(e);
}
END_TEST

START_TEST(refused)
{
	char err[128];
	static const char *const bad[] = {
		"", "<domainsnapshot>", "<domain><name>x</name></domain>",
		"<domainsnapshot><state>running</state></domainsnapshot>",
		/* an external entity must not be fetched, nor expanded */
		"<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<domainsnapshot><name>&x;</name></domainsnapshot>",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_object *o = lv_snapxml_parse(bad[i], strlen(bad[i]), err, sizeof err);
		if (o) {
			const char *n = str(o, "name");
			ck_assert_msg(!n || !strstr(n, "root:"), "entity expanded: %s", n);
			json_object_put(o);
		} else {
			ck_assert(err[0]);
		}
	}
	/* over the bound: refused without parsing */
	size_t big = LV_SNAPXML_MAX + 1;
	char *b = malloc(big);
	memset(b, ' ', big);
	ck_assert_ptr_null(lv_snapxml_parse(b, big, err, sizeof err));
	ck_assert(strstr(err, "exceeds"));
	free(b);
}
END_TEST

/* lv_qmpxml: which domains in_libvirt leaves to in_qmp.  Only a socket
 * path of <qemu:commandline> in in_qmp's places counts; a tenant's text
 * naming the directory (description, title, Nova's metadata) does not. */
#define DOM_HEAD "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>" \
	"<name>vm1</name>"
static int qmon(const char *xml)
{
	char *places[] = { "/run/hvtrail/qmp/", "/run/hvtrail/client.sock", NULL };

	return lv_qmpxml_monitor(xml, strlen(xml), places);
}

START_TEST(qmp_monitor_only_from_commandline)
{
	/* the QMP way's per-VM edit, and client mode's -chardev */
	ck_assert(qmon(DOM_HEAD "<qemu:commandline><qemu:arg value='-qmp'/>"
		       "<qemu:arg value='unix:/run/hvtrail/qmp/vm1.sock,server=on,wait=off'/></qemu:commandline></domain>"));
	ck_assert(qmon(DOM_HEAD "<qemu:commandline><qemu:arg value='-chardev'/>"
		       "<qemu:arg value='socket,id=hvt,path=/run/hvtrail/client.sock,reconnect=5'/>"
		       "</qemu:commandline></domain>"));
	/* a tenant's text: hides nothing */
	ck_assert(!qmon(DOM_HEAD "<description>x /run/hvtrail/qmp/ unix:/run/hvtrail/qmp/a.sock</description>"
			"<title>/run/hvtrail/qmp/vm1.sock</title><metadata><nova:instance "
			"xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:name>path=/run/hvtrail/qmp/x"
			"</nova:name></nova:instance></metadata></domain>"));
	/* the namespace is libvirt's QEMU one, not a look-alike prefix */
	ck_assert(!qmon("<domain xmlns:qemu='urn:other'><qemu:commandline><qemu:arg "
			"value='unix:/run/hvtrail/qmp/vm1.sock'/></qemu:commandline></domain>"));
	/* exact places only: not a subdirectory, not a longer name, not another socket */
	ck_assert(!qmon(DOM_HEAD "<qemu:commandline><qemu:arg value='unix:/run/hvtrail/qmp/sub/vm1.sock'/>"
			"</qemu:commandline></domain>"));
	ck_assert(!qmon(DOM_HEAD "<qemu:commandline><qemu:arg value='unix:/run/hvtrail/qmpx/vm1.sock'/>"
			"</qemu:commandline></domain>"));
	ck_assert(!qmon(DOM_HEAD "<qemu:commandline><qemu:arg value='socket,id=m,path=/run/hvtrail/client.sock2'/>"
			"</qemu:commandline></domain>"));
	ck_assert(!qmon(DOM_HEAD "<qemu:commandline><qemu:arg value='-qmp'/></qemu:commandline></domain>"));
	/* not XML, or nothing to look for */
	ck_assert(!qmon("<domain><qemu:commandline"));
	char *none[] = { NULL };
	ck_assert(!lv_qmpxml_monitor("<domain/>", 9, none));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lv_snapxml");
	TCase *t = tcase_create("parse");
	tcase_add_test(t, internal_snapshot);
	tcase_add_test(t, external_snapshot);
	tcase_add_test(t, libvirt_wrote);
	tcase_add_test(t, refused);
	tcase_add_test(t, qmp_monitor_only_from_commandline);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
