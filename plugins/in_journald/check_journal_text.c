/* check_journal_text.c - the pure pieces: UTF-8 sanitising, audit
 * key=value parsing and decoding, VM identity in text, field sets, cursor
 * strings and the gap arithmetic. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal_cursor.h"
#include "journal_fields.h"
#include "journal_text.h"
#include "util.h"

static char *sanitize(const char *s, size_t len, bool one_line, size_t *bad)
{
	struct hvt_buf b = { 0 };

	*bad = jd_text_sanitize(&b, s, len, one_line);
	hvt_buf_cstr(&b);
	return b.data ? b.data : hvt_strdup("");
}

START_TEST(sanitize_text)
{
	size_t bad;
	char *s = sanitize("plain text", 10, false, &bad);
	ck_assert_str_eq(s, "plain text");
	ck_assert_uint_eq(bad, 0);
	free(s);
	/* a NUL and an invalid byte become U+FFFD; valid UTF-8 stays */
	s = sanitize("a\0b\xff" "c\xc3\xa9", 7, false, &bad);
	ck_assert_str_eq(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xc3\xa9");
	ck_assert_uint_eq(bad, 2);
	free(s);
	/* overlong, surrogate and > U+10FFFF are not UTF-8 */
	s = sanitize("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", 9, false, &bad);
	ck_assert_uint_eq(bad, 9);
	ck_assert(hvt_utf8_valid(s, strlen(s)));
	free(s);
	/* one line: control characters become spaces, trailing space goes */
	s = sanitize("line one\nline\ttwo\n\n", 19, true, &bad);
	ck_assert_str_eq(s, "line one line two");
	ck_assert_uint_eq(bad, 0);
	free(s);
	/* multi-line kept when not one_line */
	s = sanitize("a\nb\n", 4, false, &bad);
	ck_assert_str_eq(s, "a\nb\n");
	free(s);
	/* a truncated sequence at the end */
	s = sanitize("ab\xe2\x82", 4, false, &bad);
	ck_assert_uint_eq(bad, 2);
	free(s);
}
END_TEST

START_TEST(plain_text)
{
	char buf[40];

	ck_assert(jd_text_plain("", 0));
	ck_assert(jd_text_plain("abcdefghijklmnopqrstuvwxyz ~!", 29));
	/* every position of a word and of the tail, every kind of non-plain byte */
	for (size_t pos = 0; pos < 20; pos++) {
		static const char bad[] = { 0x00, 0x1f, 0x7f, (char)0x80, (char)0xc3, (char)0xff };
		for (size_t b = 0; b < sizeof bad; b++) {
			memset(buf, 'a', 20);
			buf[pos] = bad[b];
			ck_assert_msg(!jd_text_plain(buf, 20), "byte %#x at %zu", (unsigned char)bad[b], pos);
		}
		memset(buf, 'a', 20);
		buf[pos] = ' ';
		ck_assert(jd_text_plain(buf, 20));
	}
}
END_TEST

START_TEST(cut_on_boundary)
{
	const char *s = "ab\xc3\xa9" "cd";      /* é is 2 bytes at offset 2 */

	ck_assert_uint_eq(jd_text_cut(s, 6, 10), 6);
	ck_assert_uint_eq(jd_text_cut(s, 6, 3), 2);
	ck_assert_uint_eq(jd_text_cut(s, 6, 4), 4);
}
END_TEST

START_TEST(uuid)
{
	ck_assert(jd_uuid_valid("0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01", 36));
	ck_assert(jd_uuid_valid("0F3C6A62-4D3E-4BB4-9A51-2F7C0C9A1E01", 36));
	ck_assert(!jd_uuid_valid("0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e0", 35));
	ck_assert(!jd_uuid_valid("0f3c6a62x4d3e-4bb4-9a51-2f7c0c9a1e01", 36));
	ck_assert(!jd_uuid_valid("0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e0g", 36));
}
END_TEST

START_TEST(kv_audit)
{
	const char *m = "VIRT_CONTROL pid=1187 uid=0 auid=4294967295 ses=4294967295 subj=unconfined "
			"msg='virt=kvm op=start reason=booted vm=\"vm-web01\" uuid=0f3c6a62-4d3e-4bb4-9a51-"
			"2f7c0c9a1e01 vm-pid=20003 exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? "
			"res=success'";
	const char *part;
	size_t plen;
	struct jd_kvset kv;
	char buf[64];

	jd_audit_user_part(m, strlen(m), &part, &plen);
	ck_assert(strncmp(part, "virt=kvm", 8) == 0);
	ck_assert(part[plen - 1] == 's');            /* ...res=success, quote excluded */
	jd_kv_parse(part, plen, &kv);
	ck_assert(jd_kv_is(&kv, "op", "start"));
	ck_assert(jd_kv_is(&kv, "reason", "booted"));
	ck_assert(jd_kv_is(&kv, "res", "success"));
	ck_assert(jd_kv_is(&kv, "hostname", "?"));
	ck_assert(jd_kv_get(&kv, "vm")->quoted);
	ck_assert_uint_eq(jd_audit_value(jd_kv_get(&kv, "vm"), false, buf, sizeof buf), 8);
	ck_assert_str_eq(buf, "vm-web01");
	ck_assert(jd_kv_get(&kv, "pid") == NULL);    /* kernel part is outside msg='' */
	/* no msg='': the whole text */
	jd_audit_user_part("success=yes op=stop", 19, &part, &plen);
	ck_assert_uint_eq(plen, 19);
	/* a bare word is skipped, an unterminated quote ends the text */
	jd_kv_parse("WORD a=1 b=\"x y", 15, &kv);
	ck_assert_uint_eq(kv.n, 2);
	ck_assert(jd_kv_is(&kv, "b", "x y"));
}
END_TEST

START_TEST(kv_bounds)
{
	struct hvt_buf b = { 0 };
	struct jd_kvset kv;

	for (int i = 0; i < 100; i++)
		hvt_buf_printf(&b, "k%d=v%d ", i, i);
	jd_kv_parse(b.data, b.len, &kv);
	ck_assert_uint_eq(kv.n, JD_KV_MAX);
	jd_kv_parse("=x ==y a=", 9, &kv);
	ck_assert_uint_eq(kv.n, 1);
	ck_assert_uint_eq(jd_kv_get(&kv, "a")->vlen, 0);
	hvt_buf_free(&b);
}
END_TEST

START_TEST(audit_hex_values)
{
	struct jd_kvset kv;
	char buf[64];

	/* a name with a space is hex-encoded by audit_encode_nv_string() */
	const char *t = "vm=766D20776562 new-mem=4194304 new-vcpu=16 new-disk=2F746D70";

	jd_kv_parse(t, strlen(t), &kv);
	ck_assert_uint_eq(jd_audit_value(jd_kv_get(&kv, "vm"), false, buf, sizeof buf), 6);
	ck_assert_str_eq(buf, "vm web");
	jd_audit_value(jd_kv_get(&kv, "new-mem"), true, buf, sizeof buf);
	ck_assert_str_eq(buf, "4194304");
	jd_audit_value(jd_kv_get(&kv, "new-vcpu"), true, buf, sizeof buf);
	ck_assert_str_eq(buf, "16");                 /* a number, not "\x16" */
	jd_audit_value(jd_kv_get(&kv, "new-disk"), true, buf, sizeof buf);
	ck_assert_str_eq(buf, "/tmp");
	/* output bounded */
	jd_audit_value(jd_kv_get(&kv, "vm"), false, buf, 3);
	ck_assert_str_eq(buf, "vm");
}
END_TEST

START_TEST(vm_from_libvirt)
{
	struct jd_vm_id id;
	const char *t;

	memset(&id, 0, sizeof id);
	t = "Domain id=3 name='vm-web01' uuid=0F3C6A62-4D3E-4BB4-9A51-2F7C0C9A1E01 is tainted: x";
	jd_vm_from_libvirt_text(t, strlen(t), &id);
	ck_assert_str_eq(id.name, "vm-web01");
	ck_assert_str_eq(id.uuid, "0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01");

	memset(&id, 0, sizeof id);
	t = "internal error: QEMU unexpectedly closed the monitor (vm='vm-db02'): -blockdev "
	    "{\"node-name\":\"libvirt-1\"}: Could not open";
	jd_vm_from_libvirt_text(t, strlen(t), &id);
	ck_assert_str_eq(id.name, "vm-db02");
	ck_assert_str_eq(id.uuid, "");

	memset(&id, 0, sizeof id);
	t = "The connection which controls migration of domain vm-web01 was closed";
	jd_vm_from_libvirt_text(t, strlen(t), &id);
	ck_assert_str_eq(id.name, "vm-web01");

	memset(&id, 0, sizeof id);
	t = "Requested operation is not valid: domain 'vm1' is already running";
	jd_vm_from_libvirt_text(t, strlen(t), &id);
	ck_assert_str_eq(id.name, "vm1");

	/* node-name='x' is not a VM name; an unterminated quote gives nothing */
	memset(&id, 0, sizeof id);
	t = "node-name='libvirt-1-storage' and name='broken";
	jd_vm_from_libvirt_text(t, strlen(t), &id);
	ck_assert_str_eq(id.name, "");
	memset(&id, 0, sizeof id);
	t = "Unable to find 'dnsmasq' binary in $PATH";
	jd_vm_from_libvirt_text(t, strlen(t), &id);
	ck_assert_str_eq(id.name, "");
}
END_TEST

START_TEST(vm_from_cmdline_and_machine)
{
	struct jd_vm_id id;
	const char *c;

	memset(&id, 0, sizeof id);
	c = "/usr/bin/qemu-system-x86_64 -name guest=vm-web01,debug-threads=on -S "
	    "-uuid 0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01 -m 64";
	jd_vm_from_qemu_cmdline(c, strlen(c), &id);
	ck_assert_str_eq(id.name, "vm-web01");
	ck_assert_str_eq(id.uuid, "0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01");

	memset(&id, 0, sizeof id);
	c = "qemu-system-x86_64 -name a,,b,process=x";
	jd_vm_from_qemu_cmdline(c, strlen(c), &id);
	ck_assert_str_eq(id.name, "a,b");

	memset(&id, 0, sizeof id);
	c = "qemu-system-x86_64 -name process=x -name";
	jd_vm_from_qemu_cmdline(c, strlen(c), &id);
	ck_assert_str_eq(id.name, "");

	memset(&id, 0, sizeof id);
	jd_vm_from_machine_name("qemu-3-vm-web01", 15, &id);
	ck_assert_str_eq(id.name, "vm-web01");
	memset(&id, 0, sizeof id);
	jd_vm_from_machine_name("lxc-4242-ct1", 12, &id);
	ck_assert_str_eq(id.name, "ct1");
	memset(&id, 0, sizeof id);
	jd_vm_from_machine_name("mycontainer", 11, &id);
	ck_assert_str_eq(id.name, "mycontainer");
	memset(&id, 0, sizeof id);
	jd_vm_from_machine_name("qemu--x", 7, &id);
	ck_assert_str_eq(id.name, "qemu--x");
}
END_TEST

START_TEST(fieldset)
{
	char *items[] = { "_PID", "LIBVIRT_*", "MESSAGE_ID", "A" };
	char *bad[] = { "lower" };
	char *all[] = { "*" };
	char err[256];
	struct jd_fieldset *s = jd_fieldset_new(items, 4, err, sizeof err);

	ck_assert_ptr_nonnull(s);
	ck_assert(jd_fieldset_has(s, "_PID", 4));
	ck_assert(!jd_fieldset_has(s, "_PI", 3));
	ck_assert(!jd_fieldset_has(s, "_PIDX", 5));
	ck_assert(jd_fieldset_has(s, "LIBVIRT_CODE", 12));
	ck_assert(jd_fieldset_has(s, "LIBVIRT_", 8));
	ck_assert(jd_fieldset_has(s, "A", 1));
	ck_assert(jd_fieldset_has(s, "MESSAGE_ID", 10));
	ck_assert(!jd_fieldset_has(s, "MESSAGE", 7));
	jd_fieldset_free(s);
	ck_assert_ptr_null(jd_fieldset_new(bad, 1, err, sizeof err));
	ck_assert(strstr(err, "lower") != NULL);
	s = jd_fieldset_new(all, 1, err, sizeof err);
	ck_assert(jd_fieldset_has(s, "ANYTHING", 8));
	jd_fieldset_free(s);
}
END_TEST

START_TEST(entry_bounds)
{
	struct jd_entry e;
	char big[10000];

	memset(big, 'x', sizeof big);
	jd_entry_init(&e, 8, 100, NULL);
	ck_assert(jd_entry_add_item(&e, "MESSAGE=hello", 13));
	ck_assert(!jd_entry_add_item(&e, "OTHER=not carried", 17));
	ck_assert(!jd_entry_add_item(&e, "bad name=x", 10));
	ck_assert(!jd_entry_add_item(&e, "NOEQUALS", 8));
	ck_assert(jd_entry_add(&e, "_CMDLINE", 8, big, sizeof big));
	ck_assert_uint_eq(jd_get(&e, JD_CMDLINE)->len, 100);
	ck_assert_uint_eq(jd_get(&e, JD_CMDLINE)->orig_len, sizeof big);
	for (int i = 0; i < 20; i++)
		jd_entry_add_item(&e, "PRIORITY=3", 10);
	ck_assert_uint_eq(e.n, 8);
	ck_assert_uint_eq(e.dropped, 14);
	ck_assert(jd_is(&e, JD_PRIORITY, "3"));
	ck_assert(jd_is(&e, JD_MESSAGE, "hello"));
	ck_assert(!jd_is(&e, JD_MESSAGE, "hell"));
	jd_entry_reset(&e);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_ptr_null(jd_get(&e, JD_MESSAGE));
	jd_entry_free(&e);
}
END_TEST

/* Known fields are carried too when the set says so: "*", a prefix, a name. */
START_TEST(known_fields_carried)
{
	char *sets[][2] = { { "*", NULL }, { "_C*", NULL }, { "_COMM", NULL } };
	struct jd_entry e;
	char err[64];

	for (size_t i = 0; i < 3; i++) {
		struct jd_fieldset *fs = jd_fieldset_new(sets[i], 1, err, sizeof err);
		jd_entry_init(&e, 8, 100, fs);
		ck_assert(jd_entry_add_item(&e, "_COMM=libvirtd", 14));
		ck_assert(jd_entry_add_item(&e, "MESSAGE=m", 9));
		ck_assert(jd_get(&e, JD_COMM)->carried);
		ck_assert(jd_get(&e, JD_COMM)->known == JD_COMM);
		ck_assert(jd_get(&e, JD_MESSAGE)->carried == (i == 0));
		jd_entry_free(&e);
		jd_fieldset_free(fs);
	}
}
END_TEST

START_TEST(cursor_parse)
{
	struct jd_cursor_info ci;

	ck_assert_int_eq(jd_cursor_parse("s=f4d9daa1555e4d2c9e706b9aba94edac;i=164;b=6156dc34f51146b6b425b4cafe6e7aad;"
					  "m=3830f920;t=660e41c545d2b;x=285ba01f0bf95609", &ci), 0);
	ck_assert_str_eq(ci.seqnum_id, "f4d9daa1555e4d2c9e706b9aba94edac");
	ck_assert(ci.has_seqnum);
	ck_assert_uint_eq(ci.seqnum, 0x164);
	ck_assert(ci.has_realtime);
	ck_assert_uint_eq(ci.realtime, 0x660e41c545d2bULL);
	ck_assert_int_eq(jd_cursor_parse("garbage", &ci), -EINVAL);
	ck_assert_int_eq(jd_cursor_parse("i=zz;t=10", &ci), 0);
	ck_assert(!ci.has_seqnum);
	ck_assert(jd_cursor_text_valid("s=a;i=1"));
	ck_assert(!jd_cursor_text_valid("s=a i=1"));
	ck_assert(!jd_cursor_text_valid(""));
}
END_TEST

START_TEST(gap_count)
{
	struct jd_cursor_info a = { .seqnum = 100, .has_seqnum = true }, b = a;
	unsigned long long lost;

	strcpy(a.seqnum_id, "aa");
	strcpy(b.seqnum_id, "aa");
	b.seqnum = 150;
	ck_assert(jd_gap_count(&a, &b, &lost));
	ck_assert_uint_eq(lost, 49);
	b.seqnum = 101;
	ck_assert(jd_gap_count(&a, &b, &lost));
	ck_assert_uint_eq(lost, 0);
	b.seqnum = 90;
	ck_assert(jd_gap_count(&a, &b, &lost));
	ck_assert_uint_eq(lost, 0);
	strcpy(b.seqnum_id, "bb");
	ck_assert(!jd_gap_count(&a, &b, &lost));
}
END_TEST

START_TEST(gap_event)
{
	struct jd_gap g = { .count_known = true, .lost = 49, .from_us = 1795381200000000LL,
			    .to_us = 1795381260000000LL };
	struct hvt_event *ev;
	json_object *v;

	strcpy(g.seqnum_id, "f4d9daa1555e4d2c9e706b9aba94edac");
	g.from_cursor = hvt_strdup("s=f4d9daa1555e4d2c9e706b9aba94edac;i=64");
	ev = jd_gap_event(&g);
	ck_assert_str_eq(ev->type, "journal.gap");
	ck_assert_str_eq(ev->source, "journald");
	ck_assert_int_eq(ev->severity, 4);
	ck_assert(json_object_object_get_ex(ev->data, "lost_entries", &v));
	ck_assert_int_eq(json_object_get_int(v), 49);
	ck_assert(json_object_object_get_ex(ev->data, "span_s", &v));
	ck_assert(json_object_get_double(v) == 60.0);
	ck_assert(strstr(ev->msg, "49 entries") != NULL);
	hvt_event_free(ev);
	g.count_known = false;
	ev = jd_gap_event(&g);
	ck_assert(json_object_object_get_ex(ev->data, "lost_entries", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(ev->data, "count", &v));
	ck_assert_str_eq(json_object_get_string(v), "unknown");
	hvt_event_free(ev);
	jd_gap_free(&g);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("journal_text");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, sanitize_text);
	tcase_add_test(tc, plain_text);
	tcase_add_test(tc, cut_on_boundary);
	tcase_add_test(tc, uuid);
	tcase_add_test(tc, kv_audit);
	tcase_add_test(tc, kv_bounds);
	tcase_add_test(tc, audit_hex_values);
	tcase_add_test(tc, vm_from_libvirt);
	tcase_add_test(tc, vm_from_cmdline_and_machine);
	tcase_add_test(tc, fieldset);
	tcase_add_test(tc, entry_bounds);
	tcase_add_test(tc, known_fields_carried);
	tcase_add_test(tc, cursor_parse);
	tcase_add_test(tc, gap_count);
	tcase_add_test(tc, gap_event);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
