/* journald_read.c - how fast in_journald's reader path turns journal
 * entries into events, next to what sd-journal alone does on the same
 * files in the same run (the anchor: this machine's disk, cache and CPU).
 *
 *   journald_read gen N [SEQ0]   export-format text of N synthetic entries
 *                                (the lab's host mix: 70% match the input's
 *                                default filter) to stdout, for
 *                                systemd-journal-remote
 *   journald_read DIR [ROUNDS]   read DIR ROUNDS times (best of) each way:
 *     iterate   sd_journal_next over every entry, reading MESSAGE
 *     read      default matches, one pass over the entry's fields
 *               (jd_journal_read_entry) and its cursor: the sd-journal side
 *     matched   the plugin's path: read, then mapped to an hvt_event
 *               (jd_map) and freed
 *     +json     the same plus the event's JSON, as the pipeline spools it
 * Prints entries/s and the ratio to the iterate rate; never asserts a time. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "journal_map.h"
#include "journal_read.h"
#include "util.h"

static char *default_matches[] = {
	"_COMM=libvirtd", "_COMM=virtqemud", "+",
	"_AUDIT_TYPE_NAME=VIRT_CONTROL", "_AUDIT_TYPE_NAME=VIRT_RESOURCE", "_AUDIT_TYPE_NAME=VIRT_MACHINE_ID", "+",
	"SYSLOG_IDENTIFIER=systemd-machined", "+",
	"_COMM=qemu-system-x86", "_COMM=qemu-kvm",
};

/* the plugin's defaults (in_journald.c) */
static char *default_fields[] = {
	"_TRANSPORT", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "_SYSTEMD_UNIT", "MESSAGE_ID", "CODE_FUNC",
	"LIBVIRT_SOURCE", "LIBVIRT_DOMAIN", "LIBVIRT_CODE", "_AUDIT_TYPE_NAME", "_AUDIT_ID",
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- generator ---------------------------------------------------------- */

static void gen_trusted(FILE *o, const char *comm, int pid)
{
	fprintf(o, "_PID=%d\n_UID=0\n_GID=0\n_COMM=%s\n_EXE=/usr/sbin/%s\n_CMDLINE=/usr/sbin/%s\n"
		"_SYSTEMD_UNIT=%s.service\n", pid, comm, comm, comm, comm);
}

static void gen_audit(FILE *o, const char *type, int id, const char *user)
{
	fprintf(o, "_TRANSPORT=audit\n_AUDIT_TYPE=%d\n_AUDIT_ID=%d\nSYSLOG_FACILITY=4\nSYSLOG_IDENTIFIER=audit\n"
		"_AUDIT_TYPE_NAME=%s\nMESSAGE=%s pid=1187 uid=0 auid=4294967295 ses=4294967295 "
		"subj=unconfined msg='%s exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? res=success'\n"
		"_PID=1187\n_UID=0\n", id % 3 + 2500, id, type, type, user);
}

static void gen_entry(FILE *o, long i)
{
	static const char *const vm[] = { "vm-web01", "vm-db02", "colo-pri" };
	static const char *const uuid[] = { "0f3c6a62-4d3e-4bb4-9a51-2f7c0c9a1e01",
		"7b1e2d44-90aa-4c1f-8e7e-5d2a1c3b4f02", "c0105e11-2222-4333-8444-555566667777" };
	const char *n = vm[i % 3], *u = uuid[i % 3];
	char user[512];

	fprintf(o, "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%lld\n_BOOT_ID=6156dc34f51146b6b425b4cafe6e7aad\n"
		"_MACHINE_ID=3d1219c7c4c5404aaa1f6d2a48adfda4\n_HOSTNAME=hv01\n",
		1795380000000000LL + i * 1000, 1000000LL + i * 1000);
	switch (i % 10) {
	case 0:
		snprintf(user, sizeof user, "virt=kvm op=start reason=booted vm=\"%s\" uuid=%s vm-pid=%ld", n, u, 20000 + i % 3);
		gen_audit(o, "VIRT_CONTROL", (int)(i % 100000), user);
		break;
	case 1:
		snprintf(user, sizeof user, "virt=kvm resrc=disk reason=start vm=\"%s\" uuid=%s old-disk=\"?\" "
			 "new-disk=\"/var/lib/libvirt/images/%s.qcow2\"", n, u, n);
		gen_audit(o, "VIRT_RESOURCE", (int)(i % 100000), user);
		break;
	case 2:
		snprintf(user, sizeof user, "virt=kvm vm=\"%s\" uuid=%s vm-ctx=libvirt-%s img-ctx=libvirt-%s "
			 "model=apparmor", n, u, u, u);
		gen_audit(o, "VIRT_MACHINE_ID", (int)(i % 100000), user);
		break;
	case 3:
	case 4:
		fprintf(o, "_TRANSPORT=journal\nSYSLOG_FACILITY=3\nPRIORITY=%d\nLIBVIRT_SOURCE=qemu.qemu_domain\n"
			"CODE_FILE=../src/qemu/qemu_domain.c\nCODE_LINE=6540\nCODE_FUNC=qemuDomainObjTaintMsg\n"
			"MESSAGE=Domain id=%ld name='%s' uuid=%s is tainted: custom-monitor\n",
			i % 10 == 3 ? 4 : 3, i % 3 + 3, n, u);
		gen_trusted(o, "libvirtd", 1187);
		break;
	case 5:
		fprintf(o, "_TRANSPORT=journal\nPRIORITY=6\nSYSLOG_IDENTIFIER=systemd-machined\n"
			"MESSAGE_ID=24d8d4452573402496068381a6312df2\nNAME=qemu-%ld-%s\nLEADER=%ld\n"
			"MESSAGE=New machine qemu-%ld-%s.\n", i % 3 + 3, n, 20000 + i % 3, i % 3 + 3, n);
		gen_trusted(o, "systemd-machine", 612);
		break;
	case 6:
		fprintf(o, "_TRANSPORT=journal\nPRIORITY=6\nSYSLOG_IDENTIFIER=systemd\nUNIT=machine-qemu.scope\n"
			"MESSAGE=Started machine-qemu.scope - Virtual Machine qemu-%ld-%s.\n", i % 3 + 3, n);
		gen_trusted(o, "systemd", 1);
		break;
	case 7:
		fprintf(o, "_TRANSPORT=stdout\nPRIORITY=6\nSYSLOG_IDENTIFIER=qemu-system-x86_64\n"
			"MESSAGE=qemu-system-x86_64: terminating on signal 15 from pid 1187 (/usr/sbin/libvirtd)\n");
		gen_trusted(o, "qemu-system-x86", 20000 + (int)(i % 3));
		break;
	default:        /* noise the default matches leave out */
		fprintf(o, "_TRANSPORT=syslog\nPRIORITY=6\nSYSLOG_IDENTIFIER=sshd\n"
			"MESSAGE=Accepted publickey for ops from 192.0.2.%ld port 50022 ssh2\n", i % 250);
		gen_trusted(o, "sshd", 4242);
	}
	fprintf(o, "TEST_SEQ=%ld\n\n", i);
}

/* ---- readers ------------------------------------------------------------ */

struct result {
	long entries;
	double seconds;
};

static sd_journal *open_or_die(const char *dir, bool matches)
{
	sd_journal *j;
	char err[256];

	if (jd_journal_open(&j, dir, NULL, 4096) < 0) {
		fprintf(stderr, "cannot open %s\n", dir);
		exit(1);
	}
	if (matches && jd_journal_add_matches(j, default_matches, (int)HVT_ARRAY_SIZE(default_matches),
					      err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return j;
}

static struct result iterate(const char *dir)
{
	sd_journal *j = open_or_die(dir, false);
	struct result r = { 0, 0 };
	const void *d;
	size_t l;
	double t0 = now();

	while (sd_journal_next(j) > 0) {
		sd_journal_get_data(j, "MESSAGE", &d, &l);
		r.entries++;
	}
	r.seconds = now() - t0;
	sd_journal_close(j);
	return r;
}

enum path { READ_ONLY, MAPPED, MAPPED_JSON };

static struct result reader_path(const char *dir, enum path how)
{
	sd_journal *j = open_or_die(dir, true);
	struct result r = { 0, 0 };
	char err[256];
	struct jd_fieldset *fs = jd_fieldset_new(default_fields, (int)HVT_ARRAY_SIZE(default_fields), err, sizeof err);
	struct jd_entry e;
	struct jd_map_opts o;
	struct hvt_buf b = { 0 };
	double t0 = now();

	jd_entry_init(&e, 64, 4096, fs);
	jd_map_opts_default(&o);
	o.cache = jd_jcache_new();      /* as the plugin runs it */
	while (sd_journal_next(j) > 0) {
		if (jd_journal_read_entry(j, &e) < 0)
			continue;
		r.entries++;
		if (how == READ_ONLY)
			continue;
		struct hvt_event *ev = jd_map(&e, &o);
		if (how == MAPPED_JSON) {
			hvt_buf_reset(&b);
			hvt_event_to_json(ev, &b);
		}
		hvt_event_free(ev);
	}
	r.seconds = now() - t0;
	hvt_buf_free(&b);
	jd_jcache_free(o.cache);
	jd_entry_free(&e);
	jd_fieldset_free(fs);
	sd_journal_close(j);
	return r;
}

static double rate(struct result r)
{
	return r.seconds > 0 ? (double)r.entries / r.seconds : 0;
}

/* Best of rounds: the least disturbed run. */
static struct result best(struct result a, struct result b)
{
	return rate(b) > rate(a) ? b : a;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "gen") == 0) {
		long n = atol(argv[2]), s0 = argc > 3 ? atol(argv[3]) : 0;
		for (long i = s0; i < s0 + n; i++)
			gen_entry(stdout, i);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s gen N [SEQ0] | %s DIR [ROUNDS]\n", argv[0], argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	struct result it = { 0, 0 }, ro = { 0, 0 }, rd = { 0, 0 }, js = { 0, 0 };

	iterate(argv[1]);               /* warm the page cache */
	for (int i = 0; i < rounds; i++) {
		it = best(it, iterate(argv[1]));
		ro = best(ro, reader_path(argv[1], READ_ONLY));
		rd = best(rd, reader_path(argv[1], MAPPED));
		js = best(js, reader_path(argv[1], MAPPED_JSON));
	}
	printf("iterate-only (anchor): %8ld entries in %.3f s = %8.0f entries/s\n", it.entries, it.seconds, rate(it));
	printf("matched, read:         %8ld entries in %.3f s = %8.0f matched entries/s  (%.2f x anchor)\n",
	       ro.entries, ro.seconds, rate(ro), rate(it) > 0 ? rate(ro) / rate(it) : 0);
	printf("matched, mapped:       %8ld entries in %.3f s = %8.0f matched entries/s  (%.2f x anchor)\n",
	       rd.entries, rd.seconds, rate(rd), rate(it) > 0 ? rate(rd) / rate(it) : 0);
	printf("matched, mapped, JSON: %8ld entries in %.3f s = %8.0f matched entries/s  (%.2f x anchor)\n",
	       js.entries, js.seconds, rate(js), rate(it) > 0 ? rate(js) / rate(it) : 0);
	printf("(best of %d rounds each; matched = %.0f%% of the entries)\n", rounds,
	       it.entries ? 100.0 * (double)rd.entries / (double)it.entries : 0);
	return 0;
}
