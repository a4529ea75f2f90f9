/* jd_testutil.c - see jd_testutil.h. */
#define _GNU_SOURCE 1
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jd_testutil.h"
#include "journal_map.h"
#include "journal_read.h"
#include "util.h"

static char *base;

char *const jdt_default_matches[] = {
	"_COMM=libvirtd", "_COMM=virtqemud", "+",
	"_AUDIT_TYPE_NAME=VIRT_CONTROL", "_AUDIT_TYPE_NAME=VIRT_RESOURCE", "_AUDIT_TYPE_NAME=VIRT_MACHINE_ID", "+",
	"SYSLOG_IDENTIFIER=systemd-machined", "+",
	"_COMM=qemu-system-x86", "_COMM=qemu-kvm",
};
const int jdt_ndefault_matches = (int)(sizeof jdt_default_matches / sizeof jdt_default_matches[0]);

char *jdt_mkdtemp(const char *tag)
{
	char *path = hvt_asprintf("%s/%s-XXXXXX", base ? base : "/tmp", tag);

	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
	return path;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

void jdt_rmtree(char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

bool jdt_have_journal_remote(void)
{
	return access(JOURNAL_REMOTE, X_OK) == 0;
}

static void run_remote(const char *dir, const char *name, const char *input)
{
	char *out = hvt_asprintf("--output=%s/%s", dir, name);
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(JOURNAL_REMOTE, "systemd-journal-remote", out, input, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "journal-remote %s failed: %d", input, st);
	free(out);
}

void jdt_remote_file(const char *dir, const char *name, const char *export_path)
{
	run_remote(dir, name, export_path);
}

void jdt_remote_text(const char *dir, const char *name, const char *export_text)
{
	char *path = hvt_asprintf("%s/.input-XXXXXX", dir);
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hvt_write_all(fd, export_text, strlen(export_text)), (ssize_t)strlen(export_text));
	close(fd);
	run_remote(dir, name, path);
	unlink(path);
	free(path);
}

static void gen_one(struct hvt_buf *b, int i, long long rt)
{
	static const char *const names[] = { "vm-web01", "vm-db02", "colo-pri" };
	static const char *const uuids[] = { "0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01",
		"7b1e2d44-90aa-4c1f-8e7e-5d2a1c3b4f02", "c0105e11-2222-4333-8444-555566667777" };
	const char *vm = names[i % 3], *uuid = uuids[i % 3];

	hvt_buf_printf(b, "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%lld\n"
		       "_BOOT_ID=6156dc34f51146b6b425b4cafe6e7aad\n_HOSTNAME=hv01\n", rt, 1000000LL + i * 1000LL);
	switch (i % 10) {
	case 0:
		hvt_buf_printf(b, "_TRANSPORT=audit\n_AUDIT_TYPE=2500\n_AUDIT_TYPE_NAME=VIRT_CONTROL\n"
			       "MESSAGE=VIRT_CONTROL pid=1187 uid=0 msg='virt=kvm op=start reason=booted "
			       "vm=\"%s\" uuid=%s vm-pid=%d exe=\"/usr/sbin/libvirtd\" res=success'\n",
			       vm, uuid, 20000 + i);
		break;
	case 1:
		hvt_buf_printf(b, "_TRANSPORT=audit\n_AUDIT_TYPE_NAME=VIRT_RESOURCE\nMESSAGE=VIRT_RESOURCE "
			       "pid=1187 msg='virt=kvm resrc=mem reason=start vm=\"%s\" uuid=%s old-mem=0 "
			       "new-mem=4194304 res=success'\n", vm, uuid);
		break;
	case 2:
		hvt_buf_printf(b, "_TRANSPORT=audit\n_AUDIT_TYPE_NAME=VIRT_MACHINE_ID\nMESSAGE=VIRT_MACHINE_ID "
			       "pid=1187 msg='virt=kvm vm=\"%s\" uuid=%s vm-ctx=x img-ctx=y model=dac "
			       "res=success'\n", vm, uuid);
		break;
	case 3:
	case 4:
		hvt_buf_printf(b, "_TRANSPORT=journal\n_COMM=libvirtd\nPRIORITY=%d\nLIBVIRT_SOURCE=util.error\n"
			       "MESSAGE=Domain id=3 name='%s' uuid=%s is tainted: custom-monitor\n",
			       i % 10 == 3 ? 4 : 3, vm, uuid);
		break;
	case 5:
		hvt_buf_printf(b, "_TRANSPORT=journal\nSYSLOG_IDENTIFIER=systemd-machined\n_COMM=systemd-machine\n"
			       "MESSAGE_ID=24d8d4452573402496068381a6312df2\nNAME=qemu-3-%s\nLEADER=20003\n"
			       "MESSAGE=New machine qemu-3-%s.\n", vm, vm);
		break;
	case 6:
		hvt_buf_printf(b, "_TRANSPORT=journal\nSYSLOG_IDENTIFIER=systemd\n_COMM=systemd\n"
			       "MESSAGE=Started machine-qemu.scope.\n");
		break;
	case 7:
		hvt_buf_printf(b, "_TRANSPORT=stdout\n_COMM=qemu-system-x86\nSYSLOG_IDENTIFIER=qemu-system-x86_64\n"
			       "MESSAGE=qemu-system-x86_64: terminating on signal 15\n");
		break;
	default:
		hvt_buf_printf(b, "_TRANSPORT=syslog\n_COMM=sshd\nSYSLOG_IDENTIFIER=sshd\n"
			       "MESSAGE=Accepted publickey for ops from 192.0.2.%d\n", i % 250);
	}
	hvt_buf_printf(b, "TEST_SEQ=%d\n\n", i);
}

char *jdt_gen_export(int seq0, int n, long long realtime_base)
{
	struct hvt_buf b = { 0 };

	for (int i = seq0; i < seq0 + n; i++)
		gen_one(&b, i, realtime_base + i * 1000LL);
	hvt_buf_cstr(&b);
	return b.data;
}

static void push(struct jdt_read *out, struct hvt_event *ev, int seq)
{
	out->ev = hvt_realloc(out->ev, sizeof(*out->ev) * (out->n + 1));
	out->test_seq = hvt_realloc(out->test_seq, sizeof(int) * (out->n + 1));
	out->ev[out->n] = ev;
	out->test_seq[out->n] = seq;
	out->n++;
}

void jdt_read_dir(const char *dir, char *const *matches, int nmatches, bool libvirt_audit_events,
		  struct jdt_read *out)
{
	static char *const fields[] = { "_TRANSPORT", "PRIORITY", "SYSLOG_IDENTIFIER", "_COMM", "_PID",
		"_SYSTEMD_UNIT", "_HOSTNAME", "MESSAGE_ID", "CODE_FUNC", "LIBVIRT_SOURCE", "LIBVIRT_DOMAIN",
		"LIBVIRT_CODE", "_AUDIT_TYPE_NAME", "_AUDIT_ID", "TEST_SEQ" };
	char err[256];
	struct jd_fieldset *fs = jd_fieldset_new(fields, (int)(sizeof fields / sizeof fields[0]), err, sizeof err);
	struct jd_entry e;
	struct jd_map_opts o;
	sd_journal *j;

	memset(out, 0, sizeof *out);
	ck_assert_int_eq(jd_journal_open(&j, dir, NULL, 4096), 0);
	if (matches)
		ck_assert_int_eq(jd_journal_add_matches(j, matches, nmatches, err, sizeof err), 0);
	jd_entry_init(&e, 64, 4096, fs);
	jd_map_opts_default(&o);
	o.libvirt_audit_events = libvirt_audit_events;
	o.cache = jd_jcache_new();             /* as the plugin runs it */
	while (sd_journal_next(j) > 0) {
		ck_assert_int_eq(jd_journal_read_entry(j, &e), 0);
		struct hvt_event *ev = jd_map(&e, &o);
		const char *seq = jdt_field(ev, "TEST_SEQ");
		push(out, ev, *seq ? atoi(seq) : -1);
	}
	jd_jcache_free(o.cache);               /* the events keep what they share */
	jd_entry_free(&e);
	jd_fieldset_free(fs);
	sd_journal_close(j);
}

void jdt_read_free(struct jdt_read *r)
{
	for (size_t i = 0; i < r->n; i++)
		hvt_event_free(r->ev[i]);
	free(r->ev);
	free(r->test_seq);
	memset(r, 0, sizeof *r);
}

const char *jdt_data_str(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	if (!ev->data || !json_object_object_get_ex(ev->data, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

const char *jdt_field(const struct hvt_event *ev, const char *name)
{
	json_object *f, *v;

	if (!ev->data || !json_object_object_get_ex(ev->data, "fields", &f) ||
	    !json_object_object_get_ex(f, name, &v))
		return "";
	return json_object_get_string(v);
}

void jdt_check_json(const struct hvt_event *ev)
{
	struct hvt_buf b = { 0 };
	char err[256];

	hvt_event_to_json(ev, &b);
	ck_assert_msg(hvt_utf8_valid(b.data, b.len), "not UTF-8: %.*s", (int)b.len, b.data);
	struct hvt_event *back = hvt_event_from_json(b.data, b.len, &hvt_event_default_limits, false,
						     err, sizeof err);
	ck_assert_msg(back != NULL, "event does not parse back (%s): %.*s", err, (int)b.len, b.data);
	ck_assert_str_eq(back->type, ev->type);
	hvt_event_free(back);
	hvt_buf_free(&b);
}

int jdt_main(int argc, char **argv, void *suite)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr = srunner_create(suite);
	int failed;

	(void)argc;
	(void)argv;
	base = hvt_asprintf("%s/hvt-jd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 99;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jdt_rmtree(base);
	return failed ? 1 : 0;
}
