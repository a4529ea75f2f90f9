/* test_spool.c - the crash-safe record log: numbering, rotation, trimming,
 * recovery of torn/corrupt tails, drop-oldest, and a concurrent reader. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>

#include "testutil.h"

#include "spool.h"
#include "util.h"

#define HDR 24                  /* bytes of a record header on disk */
#define PAYLOAD 76              /* fixed payload: 100 bytes a record */
#define PER_SEG 5               /* records per segment with SEG_BYTES */
#define SEG_BYTES (PER_SEG * (HDR + PAYLOAD))

static char *dir;

static void setup(void)
{
	dir = tu_mkdtemp("spool");
}

static void teardown(void)
{
	tu_rmtree(dir);
	dir = NULL;
}

static struct hvt_spool *open_spool(uint64_t segment_bytes, enum hvt_fsync_policy fsync)
{
	struct hvt_spool_opts o = {
		.dir = dir, .name = "test", .segment_bytes = segment_bytes,
		.fsync = fsync, .fsync_interval_ms = 50,
	};
	char err[512] = "";
	struct hvt_spool *sp = hvt_spool_open(&o, err, sizeof err);

	ck_assert_msg(sp != NULL, "open: %s", err);
	return sp;
}

/* The payload of record seq (PAYLOAD bytes, distinct per seq). */
static void payload(uint64_t seq, char out[PAYLOAD])
{
	memset(out, '.', PAYLOAD);
	snprintf(out, PAYLOAD, "record %llu", (unsigned long long)seq);
	out[PAYLOAD - 1] = '\n';
}

static void append_n(struct hvt_spool *sp, int n)
{
	char p[PAYLOAD];

	for (int i = 0; i < n; i++) {
		uint64_t seq, want = hvt_spool_next_seq(sp);
		payload(want, p);
		ck_assert_int_eq(hvt_spool_append(sp, p, PAYLOAD, &seq), 0);
		ck_assert_uint_eq(seq, want);
	}
	ck_assert_int_eq(hvt_spool_commit(sp), 0);
}

/* Read everything committed from `from`; check each payload; return the
 * count and the seqs in got[] (and the skipped counts in skipped[]). */
static int read_all(struct hvt_spool *sp, uint64_t from, uint64_t *got, uint64_t *skipped, int max)
{
	struct hvt_spool_reader *r = hvt_spool_reader_new(sp, from);
	struct hvt_spool_rec rec;
	char p[PAYLOAD];
	int n = 0, rc;

	while ((rc = hvt_spool_reader_next(r, &rec)) == 1) {
		ck_assert_int_lt(n, max);
		ck_assert_uint_eq(rec.len, PAYLOAD);
		payload(rec.seq, p);
		ck_assert_msg(memcmp(rec.data, p, PAYLOAD) == 0, "record %llu has the wrong bytes",
			      (unsigned long long)rec.seq);
		got[n] = rec.seq;
		if (skipped)
			skipped[n] = rec.skipped;
		n++;
	}
	ck_assert_int_eq(rc, 0);
	hvt_spool_reader_free(r);
	return n;
}

/* Sorted list of segment first-seqs present on disk. */
static int segments(uint64_t *firsts, int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		if (!hvt_str_has_suffix(de->d_name, ".seg"))
			continue;
		ck_assert_int_lt(n, max);
		firsts[n++] = strtoull(de->d_name, NULL, 16);
	}
	closedir(d);
	for (int i = 1; i < n; i++)           /* insertion sort */
		for (int j = i; j > 0 && firsts[j - 1] > firsts[j]; j--) {
			uint64_t t = firsts[j];
			firsts[j] = firsts[j - 1];
			firsts[j - 1] = t;
		}
	return n;
}

static char *seg_file(uint64_t first)
{
	return hvt_asprintf("%s/%016llx.seg", dir, (unsigned long long)first);
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

START_TEST(append_commit_read_across_rotation)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	uint64_t got[64], firsts[32];
	char p[PAYLOAD];

	ck_assert_uint_eq(hvt_spool_next_seq(sp), 1);
	payload(1, p);
	ck_assert_int_eq(hvt_spool_append(sp, p, PAYLOAD, NULL), 0);
	/* not visible before commit */
	ck_assert_int_eq(read_all(sp, 1, got, NULL, 64), 0);
	ck_assert_uint_eq(hvt_spool_last_seq(sp), 0);
	ck_assert_int_eq(hvt_spool_commit(sp), 0);
	append_n(sp, 22);
	ck_assert_uint_eq(hvt_spool_last_seq(sp), 23);

	/* 23 records at 5 a segment: segments start at 1, 6, 11, 16, 21 */
	ck_assert_int_eq(segments(firsts, 32), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(firsts[i], 1 + 5 * (uint64_t)i);
	ck_assert_uint_eq(hvt_spool_bytes(sp), 23 * (HDR + PAYLOAD));

	ck_assert_int_eq(read_all(sp, 1, got, NULL, 64), 23);
	for (int i = 0; i < 23; i++)
		ck_assert_uint_eq(got[i], (uint64_t)i + 1);
	/* start in the middle of a segment, and at 0 (= from the start) */
	ck_assert_int_eq(read_all(sp, 13, got, NULL, 64), 11);
	ck_assert_uint_eq(got[0], 13);
	ck_assert_int_eq(read_all(sp, 0, got, NULL, 64), 23);
	ck_assert_uint_eq(got[0], 1);
	/* past the end: nothing yet */
	ck_assert_int_eq(read_all(sp, 24, got, NULL, 64), 0);
	hvt_spool_close(sp);
}
END_TEST

START_TEST(odd_sizes_and_big_records)
{
	/* payloads of odd lengths put headers at unaligned offsets; one record
	 * is larger than the reader's 256 KiB cache */
	struct hvt_spool *sp = open_spool(4096, HVT_FSYNC_NEVER);
	struct hvt_spool_reader *r;
	struct hvt_spool_rec rec;
	size_t big = 300 * 1024;
	char *buf = malloc(big);

	for (size_t i = 0; i < big; i++)
		buf[i] = (char)('a' + i % 23);
	for (int i = 1; i <= 40; i++)
		ck_assert_int_eq(hvt_spool_append(sp, buf, i == 20 ? big : (size_t)(i * 7 + 1), NULL), 0);
	ck_assert_int_eq(hvt_spool_append(sp, "", 0, NULL), 0);       /* empty payload */
	ck_assert_int_eq(hvt_spool_commit(sp), 0);

	r = hvt_spool_reader_new(sp, 17);
	for (int i = 17; i <= 40; i++) {
		size_t want = i == 20 ? big : (size_t)(i * 7 + 1);
		ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
		ck_assert_uint_eq(rec.seq, (uint64_t)i);
		ck_assert_uint_eq(rec.len, want);
		ck_assert(memcmp(rec.data, buf, want) == 0);
	}
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 41);
	ck_assert_uint_eq(rec.len, 0);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 0);
	/* seek back into the first segment */
	ck_assert_int_eq(hvt_spool_reader_seek(r, 3), 0);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 3);
	ck_assert_uint_eq(rec.len, 22);
	hvt_spool_reader_free(r);
	hvt_spool_close(sp);
	free(buf);
}
END_TEST

START_TEST(ack_trims_only_fully_acked_segments)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_ALWAYS);
	uint64_t firsts[32], got[64];
	char *ckpt;

	append_n(sp, 23);                       /* segments 1 6 11 16 21 */
	ck_assert_uint_eq(hvt_spool_acked(sp), 0);
	ck_assert_int_eq(hvt_spool_ack(sp, 12, true), 0);
	ck_assert_uint_eq(hvt_spool_acked(sp), 12);
	/* 1-5 and 6-10 are fully acked and gone; 11-15 holds 13..15, so stays */
	ck_assert_int_eq(segments(firsts, 32), 3);
	ck_assert_uint_eq(firsts[0], 11);
	ck_assert_uint_eq(hvt_spool_bytes(sp), 13 * (HDR + PAYLOAD));
	/* acking exactly the end of a segment removes it */
	ck_assert_int_eq(hvt_spool_ack(sp, 15, true), 0);
	ck_assert_int_eq(segments(firsts, 32), 2);
	ck_assert_uint_eq(firsts[0], 16);
	/* an ack never goes back, nor past what was committed */
	ck_assert_int_eq(hvt_spool_ack(sp, 3, true), 0);
	ck_assert_uint_eq(hvt_spool_acked(sp), 15);
	ck_assert_int_eq(hvt_spool_ack(sp, 1000, true), 0);
	ck_assert_uint_eq(hvt_spool_acked(sp), 23);
	/* the active segment always stays, even when fully acked */
	ck_assert_int_eq(segments(firsts, 32), 1);
	ck_assert_uint_eq(firsts[0], 21);
	hvt_spool_close(sp);

	/* the checkpoint also names the spool's identity (to restore a lost meta) */
	ckpt = hvt_asprintf("%s/checkpoint", dir);
	ck_assert_int_eq(tu_size(ckpt), (off_t)strlen("acked=23\nid=0123456789abcdef\n"));
	free(ckpt);

	/* the checkpoint survives a reopen; numbering continues */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_ALWAYS);
	ck_assert_uint_eq(hvt_spool_acked(sp), 23);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 24);
	append_n(sp, 4);
	ck_assert_int_eq(read_all(sp, hvt_spool_acked(sp) + 1, got, NULL, 64), 4);
	ck_assert_uint_eq(got[0], 24);
	hvt_spool_close(sp);
}
END_TEST

START_TEST(rate_limited_ack_is_persisted_at_close)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);

	append_n(sp, 12);
	ck_assert_int_eq(hvt_spool_ack(sp, 2, true), 0);
	/* right after a forced ack, an unforced one is only remembered */
	ck_assert_int_eq(hvt_spool_ack(sp, 11, false), 0);
	ck_assert_uint_eq(hvt_spool_acked(sp), 11);
	hvt_spool_close(sp);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_uint_eq(hvt_spool_acked(sp), 11);
	hvt_spool_close(sp);
}
END_TEST

START_TEST(reopen_continues_numbering_and_keeps_id)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_INTERVAL);
	char id[32], *meta;
	uint64_t got[64], seq;
	struct stat st;

	ck_assert_uint_eq(strlen(hvt_spool_id(sp)), 16);
	ck_assert_uint_eq(strspn(hvt_spool_id(sp), "0123456789abcdef"), 16);
	snprintf(id, sizeof id, "%s", hvt_spool_id(sp));
	append_n(sp, 7);
	hvt_spool_close(sp);

	sp = open_spool(SEG_BYTES, HVT_FSYNC_INTERVAL);
	ck_assert_str_eq(hvt_spool_id(sp), id);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 8);
	ck_assert_uint_eq(hvt_spool_last_seq(sp), 7);
	ck_assert_uint_eq(hvt_spool_recovered_cut_bytes(sp), 0);
	append_n(sp, 1);
	ck_assert_int_eq(read_all(sp, 1, got, NULL, 64), 8);
	ck_assert_uint_eq(got[7], 8);
	hvt_spool_close(sp);

	/* files are private */
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	meta = hvt_asprintf("%s/meta", dir);
	ck_assert_int_eq(stat(meta, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	char *seg = seg_file(6);
	ck_assert_int_eq(stat(seg, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(seg);

	/* a spool without its meta but with segments refuses to guess */
	ck_assert_int_eq(unlink(meta), 0);
	struct hvt_spool_opts o = { .dir = dir, .segment_bytes = SEG_BYTES };
	char err[512] = "";
	ck_assert_ptr_null(hvt_spool_open(&o, err, sizeof err));
	ck_assert_msg(strstr(err, "refusing to guess"), "%s", err);
	free(meta);

	/* another directory is another stream */
	char *other = dir;
	dir = tu_mkdtemp("spool2");
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_str_ne(hvt_spool_id(sp), id);
	ck_assert_int_eq(hvt_spool_append(sp, "x", 1, &seq), 0);
	ck_assert_uint_eq(seq, 1);
	hvt_spool_close(sp);
	tu_rmtree(dir);
	dir = other;
}
END_TEST

/* Cut the newest segment inside its last record (an interrupted write),
 * reopen: the incomplete record is cut, never set aside, and its number
 * is reused (it was never committed, so never shipped). */
static void torn_tail(off_t keep_of_last)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	uint64_t got[64];
	char *seg, p[PAYLOAD];
	struct hvt_spool_reader *r;
	struct hvt_spool_rec rec;

	append_n(sp, 9);                        /* segments 1 (1-5), 6 (6-9) */
	hvt_spool_close(sp);
	seg = seg_file(6);
	ck_assert_int_eq(truncate(seg, 3 * (HDR + PAYLOAD) + keep_of_last), 0);

	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 9);
	ck_assert_uint_eq(hvt_spool_recovered_cut_bytes(sp), (uint64_t)keep_of_last);
	ck_assert_int_eq(tu_size(seg), 3 * (HDR + PAYLOAD));
	ck_assert_int_eq(read_all(sp, 1, got, NULL, 64), 8);
	ck_assert_uint_eq(got[7], 8);
	/* nothing set aside: an interrupted write is not damage */
	char *damaged = hvt_asprintf("%s/damaged", dir);
	ck_assert_int_ne(access(damaged, F_OK), 0);
	free(damaged);
	/* the number is reused by a new record, which is what is read back */
	memset(p, 'N', PAYLOAD);
	ck_assert_int_eq(hvt_spool_append(sp, p, PAYLOAD, NULL), 0);
	ck_assert_int_eq(hvt_spool_commit(sp), 0);
	r = hvt_spool_reader_new(sp, 9);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 9);
	ck_assert(memcmp(rec.data, p, PAYLOAD) == 0);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 0);
	hvt_spool_reader_free(r);
	hvt_spool_close(sp);
	free(seg);
}

START_TEST(torn_tail_mid_record)   { torn_tail(HDR + PAYLOAD / 2); }
END_TEST
START_TEST(torn_tail_mid_header)   { torn_tail(HDR / 2); }
END_TEST

/* The .rec file a repair set aside for (segment, offset): its size, or -1. */
static off_t set_aside_size(uint64_t segment, uint64_t offset)
{
	char *p = hvt_asprintf("%s/damaged/%016llx-%016llx.rec", dir, (unsigned long long)segment,
			       (unsigned long long)offset);
	off_t n = access(p, F_OK) == 0 ? tu_size(p) : -1;
	char *why = hvt_asprintf("%s/damaged/%016llx-%016llx.why", dir, (unsigned long long)segment,
				 (unsigned long long)offset);
	if (n >= 0)
		ck_assert_msg(access(why, F_OK) == 0, "%s has no .why next to it", p);
	free(why);
	free(p);
	return n;
}

/* A full-length last record whose checksum fails was complete on disk, so
 * it may have been committed and shipped: its bytes are set aside and its
 * number is NOT reused (a reused number would be dropped by the collector
 * as a duplicate of what it already has). */
START_TEST(corrupt_tail_checksum)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	uint64_t got[64], skipped[64];
	char *seg;

	append_n(sp, 9);
	hvt_spool_close(sp);
	seg = seg_file(6);
	flip_byte(seg, 3 * (HDR + PAYLOAD) + HDR + 10);        /* payload of record 9 */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_uint_eq(hvt_spool_recovered_cut_bytes(sp), 0);
	ck_assert_int_eq(set_aside_size(6, 3 * (HDR + PAYLOAD)), HDR + PAYLOAD);
	/* 100 bytes could have held at most 100 / 24 = 4 more records */
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 14);
	struct hvt_spool_damage *v;
	size_t n;
	hvt_spool_take_damage(sp, &v, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].lost_first, 9);
	ck_assert_uint_eq(v[0].lost_last, 13);
	ck_assert(v[0].lost_upper_bound);
	ck_assert_str_eq(v[0].why, "a checksum mismatch");
	free(v);
	hvt_spool_take_damage(sp, &v, &n);       /* taken once */
	ck_assert_uint_eq(n, 0);
	append_n(sp, 1);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 9);
	ck_assert_uint_eq(got[8], 14);
	ck_assert_uint_eq(skipped[8], 5);
	hvt_spool_close(sp);
	/* the hole is recorded in place: a reopen finds nothing new */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 15);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 9);
	hvt_spool_close(sp);
	free(seg);
}
END_TEST

/* Damage with intact records after it, in the newest segment: exactly the
 * damaged record is set aside, the ones after it are kept. */
START_TEST(corrupt_header_mid_newest_segment)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	uint64_t got[64], skipped[64];
	char *seg;

	append_n(sp, 9);
	hvt_spool_close(sp);
	seg = seg_file(6);
	flip_byte(seg, 2 * (HDR + PAYLOAD) + 8);        /* record 8's seq field */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 10);
	ck_assert_int_eq(set_aside_size(6, 2 * (HDR + PAYLOAD)), HDR + PAYLOAD);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 8);
	ck_assert_uint_eq(got[7], 9);
	ck_assert_uint_eq(skipped[7], 1);
	uint64_t found, lost, bytes;
	hvt_spool_damage_totals(sp, &found, &lost, &bytes);
	ck_assert_uint_eq(found, 1);
	ck_assert_uint_eq(lost, 1);
	ck_assert_uint_eq(bytes, HDR + PAYLOAD);
	hvt_spool_close(sp);
	free(seg);
}
END_TEST

START_TEST(corrupt_middle_segment_is_skipped)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	uint64_t got[64], skipped[64];
	char *seg;
	int n;

	append_n(sp, 18);                       /* segments 1 6 11 16 */
	seg = seg_file(6);
	flip_byte(seg, 2 * (HDR + PAYLOAD) + HDR + 40);       /* payload of record 8 */
	free(seg);

	n = read_all(sp, 1, got, skipped, 64);
	ck_assert_int_eq(n, 17);
	for (int i = 0, want = 1; i < n; i++, want++) {
		if (want == 8)
			want++;
		ck_assert_uint_eq(got[i], (uint64_t)want);
		ck_assert_uint_eq(skipped[i], want == 9 ? 1 : 0);
	}
	/* the reader set the damaged bytes aside */
	ck_assert_int_eq(set_aside_size(6, 2 * (HDR + PAYLOAD)), HDR + PAYLOAD);

	/* a damaged header costs that record only: the reader finds the next */
	seg = seg_file(11);
	flip_byte(seg, 1 * (HDR + PAYLOAD) + 1);              /* magic of record 12 */
	free(seg);
	n = read_all(sp, 1, got, skipped, 64);
	ck_assert_int_eq(n, 16);                /* 1-7, 9-11, 13-18 */
	ck_assert_uint_eq(got[10], 13);
	ck_assert_uint_eq(skipped[10], 1);
	struct hvt_spool_damage *v;
	size_t nd;
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 2);
	ck_assert_uint_eq(v[1].lost_first, 12);
	ck_assert_uint_eq(v[1].lost_last, 12);
	ck_assert_str_eq(v[1].why, "a corrupt record header");
	free(v);

	/* reopening verifies every unacknowledged segment: both are repaired
	 * (rewritten with their intact records and a hole record) */
	hvt_spool_close(sp);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 19);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 2);
	free(v);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 16);
	ck_assert_uint_eq(skipped[7], 1);
	ck_assert_uint_eq(skipped[10], 1);
	hvt_spool_close(sp);
	/* and once repaired, the next open finds nothing */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 0);
	hvt_spool_close(sp);
}
END_TEST

START_TEST(drop_oldest_counts)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	struct hvt_spool_reader *r;
	struct hvt_spool_rec rec;
	uint64_t firsts[32];

	append_n(sp, 18);                       /* segments 1 6 11 16 */
	r = hvt_spool_reader_new(sp, 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 2);
	ck_assert_int_eq(hvt_spool_ack(sp, 2, true), 0);

	uint64_t from, to;
	ck_assert_uint_eq(hvt_spool_drop_oldest(sp, &from, &to), 3);         /* 3, 4, 5 */
	ck_assert_uint_eq(from, 3);
	ck_assert_uint_eq(to, 5);
	ck_assert_uint_eq(hvt_spool_acked(sp), 5);
	ck_assert_uint_eq(hvt_spool_drop_oldest(sp, NULL, NULL), 5);         /* 6..10 */
	ck_assert_uint_eq(hvt_spool_acked(sp), 10);
	ck_assert_int_eq(segments(firsts, 32), 2);
	ck_assert_uint_eq(firsts[0], 11);
	ck_assert_uint_eq(hvt_spool_bytes(sp), 8 * (HDR + PAYLOAD));

	/* the reader that was at 3 learns that 8 records are gone */
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 11);
	ck_assert_uint_eq(rec.skipped, 8);
	hvt_spool_reader_free(r);

	/* down to the active segment: it is closed and dropped too */
	ck_assert_uint_eq(hvt_spool_drop_oldest(sp, NULL, NULL), 5);         /* 11..15 */
	ck_assert_uint_eq(hvt_spool_drop_oldest(sp, NULL, NULL), 3);         /* 16..18 */
	ck_assert_uint_eq(hvt_spool_acked(sp), 18);
	ck_assert_uint_eq(hvt_spool_drop_oldest(sp, NULL, NULL), 0);         /* nothing left */
	ck_assert_uint_eq(hvt_spool_bytes(sp), 0);
	append_n(sp, 1);
	ck_assert_uint_eq(hvt_spool_last_seq(sp), 19);
	hvt_spool_close(sp);

	/* the drops are remembered */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_uint_eq(hvt_spool_acked(sp), 18);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 20);
	hvt_spool_close(sp);
}
END_TEST

START_TEST(unread_steps_back_once)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	struct hvt_spool_reader *r;
	struct hvt_spool_rec rec;
	char *seg;

	append_n(sp, 8);                        /* segments 1 (1-5), 6 (6-8) */
	seg = seg_file(1);
	flip_byte(seg, 2 * (HDR + PAYLOAD) + HDR + 5);        /* payload of record 3 */
	free(seg);
	r = hvt_spool_reader_new(sp, 1);
	hvt_spool_reader_unread(r);             /* nothing read yet: no effect */
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 4);
	ck_assert_uint_eq(rec.skipped, 1);
	/* the record comes back with its skip count; a second unread is a no-op */
	hvt_spool_reader_unread(r);
	hvt_spool_reader_unread(r);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 4);
	ck_assert_uint_eq(rec.skipped, 1);
	/* across a segment boundary */
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 6);
	hvt_spool_reader_unread(r);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 6);
	ck_assert_uint_eq(rec.skipped, 0);
	char p[PAYLOAD];
	payload(6, p);
	ck_assert(memcmp(rec.data, p, PAYLOAD) == 0);
	/* at the end: unread after "nothing more" does not step back */
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 8);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 0);
	hvt_spool_reader_unread(r);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 0);
	hvt_spool_reader_free(r);
	hvt_spool_close(sp);
}
END_TEST

START_TEST(over_bound)
{
	struct hvt_spool_opts o = {
		.dir = dir, .segment_bytes = SEG_BYTES, .max_bytes = 10 * (HDR + PAYLOAD),
	};
	char err[256];
	struct hvt_spool *sp = hvt_spool_open(&o, err, sizeof err);

	ck_assert_ptr_nonnull(sp);
	append_n(sp, 9);
	ck_assert(!hvt_spool_over(sp));
	append_n(sp, 1);
	ck_assert(hvt_spool_over(sp));
	ck_assert_uint_eq(hvt_spool_drop_oldest(sp, NULL, NULL), 5);
	ck_assert(!hvt_spool_over(sp));
	hvt_spool_close(sp);
}
END_TEST

START_TEST(wait_and_wake)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	long long t0 = hvt_mono_us();

	ck_assert_int_eq(hvt_spool_wait(sp, 0, 100), 0);          /* times out */
	ck_assert_int_ge(hvt_mono_us() - t0, 90000);
	append_n(sp, 1);
	ck_assert_int_eq(hvt_spool_wait(sp, 0, 10000), 1);        /* already there */
	ck_assert_int_eq(hvt_spool_wait(sp, 1, 0), 0);
	hvt_spool_close(sp);
}
END_TEST

/* ---- one writer thread, one reader thread ------------------------------ */

#define THREAD_RECORDS 20000

struct shared {
	struct hvt_spool *sp;
	int read;
	int errors;
	char first_error[200];
};

static void make_var_payload(uint64_t seq, char *buf, size_t *len)
{
	*len = 20 + seq % 61;         /* odd lengths, unaligned headers */
	memset(buf, (int)('A' + seq % 26), *len);
	memcpy(buf, &seq, sizeof seq);
}

static void *writer(void *arg)
{
	struct shared *s = arg;
	char buf[100];
	size_t len;

	for (uint64_t seq = 1; seq <= THREAD_RECORDS; seq++) {
		make_var_payload(seq, buf, &len);
		if (hvt_spool_append(s->sp, buf, len, NULL) < 0)
			abort();
		if (seq % 97 == 0 || seq == THREAD_RECORDS)
			hvt_spool_commit(s->sp);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct shared *s = arg;
	struct hvt_spool_reader *r = hvt_spool_reader_new(s->sp, 1);
	struct hvt_spool_rec rec;
	uint64_t expect = 1;
	long long deadline = hvt_mono_us() + 60 * 1000000LL;
	char buf[100];
	size_t len;

	while (expect <= THREAD_RECORDS && hvt_mono_us() < deadline) {
		int rc = hvt_spool_reader_next(r, &rec);
		if (rc == 0) {
			hvt_spool_wait(s->sp, expect - 1, 1000);
			continue;
		}
		make_var_payload(expect, buf, &len);
		if (rc < 0 || rec.seq != expect || rec.skipped || rec.len != len ||
		    memcmp(rec.data, buf, len) != 0) {
			if (!s->errors++)
				snprintf(s->first_error, sizeof s->first_error,
					 "rc %d: got seq %llu (len %zu, skipped %llu), want %llu",
					 rc, (unsigned long long)rec.seq, rec.len,
					 (unsigned long long)rec.skipped, (unsigned long long)expect);
			break;
		}
		s->read++;
		/* ack as a shipper would, so trimming races with rotation */
		if (expect % 50 == 0)
			hvt_spool_ack(s->sp, expect, expect % 1000 == 0);
		expect++;
	}
	hvt_spool_reader_free(r);
	return NULL;
}

START_TEST(reader_and_writer_threads)
{
	struct shared s = { 0 };
	pthread_t w, rd;
	uint64_t firsts[4096];

	s.sp = open_spool(16 * 1024, HVT_FSYNC_NEVER);
	ck_assert_int_eq(pthread_create(&rd, NULL, reader, &s), 0);
	ck_assert_int_eq(pthread_create(&w, NULL, writer, &s), 0);
	pthread_join(w, NULL);
	pthread_join(rd, NULL);
	ck_assert_msg(s.errors == 0, "%s", s.first_error);
	ck_assert_int_eq(s.read, THREAD_RECORDS);
	ck_assert_uint_eq(hvt_spool_last_seq(s.sp), THREAD_RECORDS);
	ck_assert_int_eq(hvt_spool_ack(s.sp, THREAD_RECORDS, true), 0);
	ck_assert_int_eq(segments(firsts, 4096), 1);
	hvt_spool_close(s.sp);
}
END_TEST

/* Meta: stored with the record, covered by its checksum, never mixed up
 * with the payload. */
START_TEST(meta_travels_with_its_record)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	struct hvt_spool_reader *r;
	struct hvt_spool_rec rec;
	uint64_t seq;

	ck_assert_int_eq(hvt_spool_append_meta(sp, "payload-1", 9, "p in_x cursor=1", 15, &seq), 0);
	ck_assert_int_eq(hvt_spool_append(sp, "payload-2", 9, NULL), 0);
	ck_assert_int_eq(hvt_spool_append_meta(sp, "payload-3", 9, "k 0123", 6, NULL), 0);
	ck_assert_int_eq(hvt_spool_commit(sp), 0);
	hvt_spool_close(sp);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	r = hvt_spool_reader_new(sp, 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.len, 9);
	ck_assert(memcmp(rec.data, "payload-1", 9) == 0);
	ck_assert_uint_eq(rec.meta_len, 15);
	ck_assert(memcmp(rec.meta, "p in_x cursor=1", 15) == 0);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_ptr_null(rec.meta);
	ck_assert_uint_eq(rec.meta_len, 0);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert(memcmp(rec.meta, "k 0123", 6) == 0);
	hvt_spool_reader_free(r);
	hvt_spool_close(sp);
	/* a flipped meta byte is damage like any other */
	char *seg = seg_file(1);
	flip_byte(seg, HDR + 9 + 3);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_int_eq(set_aside_size(1, 0), HDR + 9 + 15);
	r = hvt_spool_reader_new(sp, 1);
	ck_assert_int_eq(hvt_spool_reader_next(r, &rec), 1);
	ck_assert_uint_eq(rec.seq, 2);
	ck_assert_uint_eq(rec.skipped, 1);
	hvt_spool_reader_free(r);
	hvt_spool_close(sp);
	free(seg);
}
END_TEST

/* A segment (not the newest) cut short in a record: the partial record's
 * bytes are set aside and the seqs the rest of the file held are lost;
 * every record before the cut and every later segment is kept. */
START_TEST(truncated_middle_segment)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	uint64_t got[64], skipped[64];
	struct hvt_spool_damage *v;
	size_t nd;

	append_n(sp, 18);                       /* segments 1 6 11 16 */
	hvt_spool_close(sp);
	char *seg = seg_file(6);
	ck_assert_int_eq(truncate(seg, 2 * (HDR + PAYLOAD) + 30), 0);    /* 6, 7 and 30 bytes of 8 */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 1);
	ck_assert_uint_eq(v[0].lost_first, 8);
	ck_assert_uint_eq(v[0].lost_last, 10);
	ck_assert_uint_eq(v[0].bytes, 30);
	ck_assert_str_eq(v[0].why, "a torn record");
	free(v);
	ck_assert_int_eq(set_aside_size(6, 2 * (HDR + PAYLOAD)), 30);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 15);
	ck_assert_uint_eq(got[6], 7);
	ck_assert_uint_eq(got[7], 11);
	ck_assert_uint_eq(skipped[7], 3);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 19);
	hvt_spool_close(sp);

	/* cut exactly at a record boundary: no bytes to keep, the seqs are
	 * still accounted for */
	free(seg);
	seg = seg_file(11);
	ck_assert_int_eq(truncate(seg, 1 * (HDR + PAYLOAD)), 0);          /* only 11 */
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 1);
	ck_assert_uint_eq(v[0].lost_first, 12);
	ck_assert_uint_eq(v[0].lost_last, 15);
	ck_assert_uint_eq(v[0].bytes, 0);
	free(v);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 11);
	hvt_spool_close(sp);
	free(seg);

	/* a segment file missing in between: the one before it ends early */
	seg = seg_file(11);
	ck_assert_int_eq(unlink(seg), 0);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 1);
	ck_assert_uint_eq(v[0].lost_first, 11);
	ck_assert_uint_eq(v[0].lost_last, 15);
	free(v);
	ck_assert_int_eq(read_all(sp, 1, got, skipped, 64), 10);
	ck_assert_uint_eq(got[7], 16);
	ck_assert_uint_eq(skipped[7], 8);       /* 8..15 */
	hvt_spool_close(sp);
	free(seg);
}
END_TEST

/* Unacknowledged records before the first segment are gone: reported
 * once, and the checkpoint moves past them. */
START_TEST(missing_oldest_segment)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	struct hvt_spool_damage *v;
	size_t nd;

	append_n(sp, 12);
	ck_assert_int_eq(hvt_spool_ack(sp, 2, true), 0);
	hvt_spool_close(sp);
	char *seg = seg_file(1);
	ck_assert_int_eq(unlink(seg), 0);
	free(seg);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 1);
	ck_assert_uint_eq(v[0].lost_first, 3);
	ck_assert_uint_eq(v[0].lost_last, 5);
	ck_assert_uint_eq(v[0].segment, 0);
	free(v);
	ck_assert_uint_eq(hvt_spool_acked(sp), 5);
	hvt_spool_close(sp);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	hvt_spool_take_damage(sp, &v, &nd);
	ck_assert_uint_eq(nd, 0);
	hvt_spool_close(sp);
}
END_TEST

/* hvt_spool_check: reports without touching; with repair, fixes so that a
 * second check is clean. */
START_TEST(check_and_repair)
{
	struct hvt_spool_opts o = { .dir = dir, .name = "test", .segment_bytes = SEG_BYTES };
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	char err[256] = "", *out = NULL;
	size_t outlen = 0;
	FILE *f;

	append_n(sp, 12);
	hvt_spool_close(sp);
	f = open_memstream(&out, &outlen);
	ck_assert_int_eq(hvt_spool_check(&o, false, f, err, sizeof err), 0);
	fclose(f);
	ck_assert_msg(strstr(out, "every record is intact"), "%s", out);
	free(out);

	char *seg = seg_file(6);
	flip_byte(seg, 1 * (HDR + PAYLOAD) + HDR + 3);         /* payload of 7 */
	off_t before = tu_size(seg);
	f = open_memstream(&out, &outlen);
	ck_assert_int_eq(hvt_spool_check(&o, false, f, err, sizeof err), 1);
	fclose(f);
	ck_assert_msg(strstr(out, "0000000000000006.seg: 4 records, 500 bytes: DAMAGED"), "%s", out);
	ck_assert_msg(strstr(out, "a checksum mismatch; record 7..7 lost"), "%s", out);
	free(out);
	ck_assert_int_eq(tu_size(seg), before);                 /* untouched */
	ck_assert_int_eq(set_aside_size(6, 1 * (HDR + PAYLOAD)), -1);

	f = open_memstream(&out, &outlen);
	ck_assert_int_eq(hvt_spool_check(&o, true, f, err, sizeof err), 0);
	fclose(f);
	ck_assert_msg(strstr(out, "repaired (segment 0000000000000006.seg offset 100): a checksum mismatch; "
			      "record 7..7 lost; set aside as "), "%s", out);
	free(out);
	ck_assert_int_eq(set_aside_size(6, 1 * (HDR + PAYLOAD)), HDR + PAYLOAD);
	f = open_memstream(&out, &outlen);
	ck_assert_int_eq(hvt_spool_check(&o, false, f, err, sizeof err), 0);
	fclose(f);
	ck_assert_msg(strstr(out, "every record is intact"), "%s", out);
	free(out);

	struct hvt_spool_opts none = { .dir = "/nonexistent/spool", .name = "spool" };
	f = open_memstream(&out, &outlen);
	ck_assert_int_eq(hvt_spool_check(&none, false, f, err, sizeof err), -1);
	fclose(f);
	free(out);
	ck_assert_str_eq(err, "there is no spool at /nonexistent/spool");
	free(seg);
}
END_TEST

/* The owner's state and the hold: acknowledged records stay until a saved
 * state covers them, so the meta after the state can always be replayed. */
START_TEST(state_holds_records)
{
	struct hvt_spool_opts o = { .dir = dir, .name = "test", .segment_bytes = SEG_BYTES,
				    .hold_for_state = true };
	char err[256], *data;
	size_t len;
	uint64_t upto, firsts[32];
	struct hvt_spool *sp = hvt_spool_open(&o, err, sizeof err);

	ck_assert_ptr_nonnull(sp);
	ck_assert_int_eq(hvt_spool_load_state(sp, &data, &len, &upto), -ENOENT);
	append_n(sp, 18);
	ck_assert_int_eq(hvt_spool_ack(sp, 18, true), 0);
	ck_assert_int_eq(segments(firsts, 32), 4);             /* held: no state yet */
	ck_assert_int_eq(hvt_spool_save_state(sp, "window\0bytes", 12, 12), 0);
	ck_assert_int_eq(segments(firsts, 32), 2);             /* 1-5 and 6-10 go; 11-15 holds 13.. */
	ck_assert_uint_eq(firsts[0], 11);
	hvt_spool_close(sp);
	sp = hvt_spool_open(&o, err, sizeof err);
	ck_assert_int_eq(hvt_spool_load_state(sp, &data, &len, &upto), 0);
	ck_assert_uint_eq(len, 12);
	ck_assert_uint_eq(upto, 12);
	ck_assert(memcmp(data, "window\0bytes", 12) == 0);
	free(data);
	ck_assert_int_eq(segments(firsts, 32), 2);
	hvt_spool_close(sp);

	/* a damaged state file is said so, not trusted */
	char *path = hvt_asprintf("%s/state", dir);
	flip_byte(path, tu_size(path) - 2);
	sp = hvt_spool_open(&o, err, sizeof err);
	ck_assert_int_eq(hvt_spool_load_state(sp, &data, &len, &upto), -EBADMSG);
	ck_assert_ptr_null(data);
	hvt_spool_close(sp);
	free(path);
}
END_TEST

/* A lost meta file is restored from the checkpoint, which names the id. */
START_TEST(meta_restored_from_checkpoint)
{
	struct hvt_spool *sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	char id[17];

	append_n(sp, 3);
	ck_assert_int_eq(hvt_spool_ack(sp, 1, true), 0);
	hvt_strlcpy(id, hvt_spool_id(sp), sizeof id);
	hvt_spool_close(sp);
	char *meta = hvt_asprintf("%s/meta", dir);
	ck_assert_int_eq(unlink(meta), 0);
	sp = open_spool(SEG_BYTES, HVT_FSYNC_NEVER);
	ck_assert_str_eq(hvt_spool_id(sp), id);
	ck_assert_uint_eq(hvt_spool_next_seq(sp), 4);
	hvt_spool_close(sp);
	ck_assert_int_eq(access(meta, F_OK), 0);
	free(meta);
}
END_TEST

START_TEST(fsync_policy_names)
{
	ck_assert_int_eq(hvt_fsync_policy_parse("never"), HVT_FSYNC_NEVER);
	ck_assert_int_eq(hvt_fsync_policy_parse("interval"), HVT_FSYNC_INTERVAL);
	ck_assert_int_eq(hvt_fsync_policy_parse("always"), HVT_FSYNC_ALWAYS);
	ck_assert_int_eq(hvt_fsync_policy_parse("sometimes"), -1);
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_commit_read_across_rotation);
	tcase_add_test(tc, odd_sizes_and_big_records);
	tcase_add_test(tc, ack_trims_only_fully_acked_segments);
	tcase_add_test(tc, rate_limited_ack_is_persisted_at_close);
	tcase_add_test(tc, reopen_continues_numbering_and_keeps_id);
	tcase_add_test(tc, torn_tail_mid_record);
	tcase_add_test(tc, torn_tail_mid_header);
	tcase_add_test(tc, corrupt_tail_checksum);
	tcase_add_test(tc, corrupt_header_mid_newest_segment);
	tcase_add_test(tc, corrupt_middle_segment_is_skipped);
	tcase_add_test(tc, drop_oldest_counts);
	tcase_add_test(tc, unread_steps_back_once);
	tcase_add_test(tc, over_bound);
	tcase_add_test(tc, wait_and_wake);
	tcase_add_test(tc, fsync_policy_names);
	tcase_add_test(tc, meta_travels_with_its_record);
	tcase_add_test(tc, truncated_middle_segment);
	tcase_add_test(tc, missing_oldest_segment);
	tcase_add_test(tc, check_and_repair);
	tcase_add_test(tc, state_holds_records);
	tcase_add_test(tc, meta_restored_from_checkpoint);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reader_and_writer_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(spool_suite());
}
