/* spool.c - see spool.h.  Record format: spool_format.h; verifying and
 * repairing segments: spool_repair.c. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "spool_int.h"
#include "trail.h"
#include "util.h"

#define CKPT_INTERVAL_US 200000
#define READ_CHUNK (256u << 10)
#define WBUF_FLUSH (1u << 20)      /* write the buffered records out at this size */
#define WBUF_MAX (8u << 20)        /* ...and refuse more while writing fails */
#define STATE_MAX (256u << 20)

struct hvt_spool_reader {
	struct hvt_spool *sp;
	int fd;
	uint64_t seg_first;   /* segment the fd is on (0 = none) */
	uint64_t off;         /* next record's offset in it */
	uint64_t next_seq;
	uint64_t pending_skip;
	char *buf;            /* cached file bytes [buf_off, buf_off+buf_len) */
	uint64_t buf_off;
	size_t buf_len;
	char *rec;            /* copy of a record larger than the cache */
	uint64_t prev_off;    /* where the last returned record started */
	uint64_t prev_seq;
	uint64_t prev_skip;
	bool can_unread;
};

int hvt_fsync_policy_parse(const char *s)
{
	if (strcmp(s, "never") == 0)
		return HVT_FSYNC_NEVER;
	if (strcmp(s, "interval") == 0)
		return HVT_FSYNC_INTERVAL;
	if (strcmp(s, "always") == 0)
		return HVT_FSYNC_ALWAYS;
	return -1;
}

char *spool_seg_name(uint64_t first)
{
	return hvt_asprintf("%016" PRIx64 ".seg", first);
}

char *spool_seg_path(const struct hvt_spool *sp, uint64_t first)
{
	return hvt_asprintf("%s/%016" PRIx64 ".seg", sp->dir, first);
}

/* ---- open -------------------------------------------------------------- */

static bool id_valid(const char *p)
{
	return strspn(p, "0123456789abcdef") >= SPOOL_ID_LEN;
}

/* The identity from DIR/checkpoint (written there too, so a lost meta
 * file can be restored). */
static bool id_from_checkpoint(struct hvt_spool *sp, char out[SPOOL_ID_LEN + 1])
{
	char *path = hvt_asprintf("%s/checkpoint", sp->dir), *text = NULL;
	bool ok = false;

	if (hvt_read_file(path, 4096, &text, NULL) == 0) {
		char *p = strstr(text, "id=");
		if (p && id_valid(p + 3)) {
			memcpy(out, p + 3, SPOOL_ID_LEN);
			out[SPOOL_ID_LEN] = '\0';
			ok = true;
		}
	}
	free(text);
	free(path);
	return ok;
}

static int write_meta(struct hvt_spool *sp, const char *path, char *err, size_t errsize)
{
	char *meta = hvt_asprintf("id=%s\nformat=2\n", sp->id);
	int rc = hvt_write_file_atomic(path, meta, strlen(meta), 0600);

	free(meta);
	if (rc < 0)
		snprintf(err, errsize, "cannot create %s: %s", path, strerror(-rc));
	return rc;
}

static int load_or_make_meta(struct hvt_spool *sp, bool have_segments, char *err, size_t errsize)
{
	char *path = hvt_asprintf("%s/meta", sp->dir), *text = NULL;
	int rc = hvt_read_file(path, 4096, &text, NULL);
	char *p = rc == 0 ? strstr(text, "id=") : NULL;

	if (rc == 0 && p && id_valid(p + 3)) {
		memcpy(sp->id, p + 3, SPOOL_ID_LEN);
		sp->id[SPOOL_ID_LEN] = '\0';
	} else if ((rc == 0 || rc == -ENOENT) && have_segments && id_from_checkpoint(sp, sp->id)) {
		/* the identity survives in the checkpoint: put it back */
		hvt_log(LOG_WARNING, "%s: %s is %s; restored the spool's identity %s from %s/checkpoint",
			sp->name, path, rc == 0 ? "damaged" : "missing", sp->id, sp->dir);
		rc = write_meta(sp, path, err, errsize);
	} else if (rc == 0) {
		snprintf(err, errsize, "%s: no valid 'id=' line (and none in the checkpoint): refusing to "
			 "guess the spool's identity", path);
		rc = -EINVAL;
	} else if (rc == -ENOENT && !have_segments) {
		hvt_stream_id_new(sp->id);   /* a new spool is a new stream */
		rc = write_meta(sp, path, err, errsize);
	} else if (rc == -ENOENT) {
		snprintf(err, errsize, "%s is missing but segments exist (and the checkpoint names no "
			 "identity): refusing to guess the spool's identity", path);
		rc = -EINVAL;
	} else {
		snprintf(err, errsize, "cannot read %s: %s", path, strerror(-rc));
	}
	free(text);
	free(path);
	return rc;
}

void spool_load_checkpoint(struct hvt_spool *sp)
{
	char *path = hvt_asprintf("%s/checkpoint", sp->dir), *text = NULL;
	int rc = hvt_read_file(path, 4096, &text, NULL);

	if (rc == 0) {
		char *p = strstr(text, "acked=");
		if (p)
			sp->acked = strtoull(p + 6, NULL, 10);
		else
			hvt_log(LOG_WARNING, "%s: %s holds no 'acked=' line: everything spooled is sent again "
				"(the collector drops what it has)", sp->name, path);
	} else if (rc != -ENOENT) {
		hvt_log(LOG_WARNING, "%s: cannot read %s (%s): everything spooled is sent again (the "
			"collector drops what it has)", sp->name, path, strerror(-rc));
	}
	sp->acked_persisted = sp->acked;
	free(text);
	free(path);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct spool_seg *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

int spool_list_segments(struct hvt_spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n != 20 || !hvt_str_has_suffix(de->d_name, ".seg") ||
		    strspn(de->d_name, "0123456789abcdef") != 16)
			continue;
		uint64_t first = strtoull(de->d_name, NULL, 16);
		struct stat st;
		char *p = spool_seg_path(sp, first);
		int src = stat(p, &st);
		free(p);
		if (src < 0 || first == 0)
			continue;
		sp->segs = hvt_realloc(sp->segs, sizeof(struct spool_seg) * (size_t)(sp->nsegs + 1));
		sp->segs[sp->nsegs].first = first;
		sp->segs[sp->nsegs].bytes = (uint64_t)st.st_size;
		sp->total_bytes += (uint64_t)st.st_size;
		sp->nsegs++;
	}
	closedir(d);
	if (sp->nsegs > 1)      /* segs is NULL in a new spool: qsort(NULL, 0) is UB */
		qsort(sp->segs, (size_t)sp->nsegs, sizeof(struct spool_seg), cmp_seg);
	return 0;
}

/* The state's upto, for the hold (hvt_spool_load_state reads the rest). */
static uint64_t state_upto(struct hvt_spool *sp)
{
	char *data = NULL;
	size_t len;
	uint64_t upto = 0;

	if (hvt_spool_load_state(sp, &data, &len, &upto) < 0)
		upto = 0;
	free(data);
	return upto;
}

static int start_segment(struct hvt_spool *sp, uint64_t first)
{
	char *path = spool_seg_path(sp, first);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		int e = -errno;
		free(path);
		return e;
	}
	free(path);
	hvt_fsync_dir(sp->dir);
	pthread_mutex_lock(&sp->lock);
	sp->segs = hvt_realloc(sp->segs, sizeof(struct spool_seg) * (size_t)(sp->nsegs + 1));
	sp->segs[sp->nsegs].first = first;
	sp->segs[sp->nsegs].bytes = 0;
	sp->nsegs++;
	pthread_mutex_unlock(&sp->lock);
	if (sp->wfd >= 0)
		close(sp->wfd);
	sp->wfd = fd;
	sp->wbytes = 0;
	return 0;
}

static void trim(struct hvt_spool *sp);

/* Records before the first segment that the checkpoint does not cover
 * are gone (a segment deleted by hand, or lost with a file system): say
 * so once, then move the checkpoint past them. */
static void missing_before_first(struct hvt_spool *sp)
{
	if (!sp->nsegs || sp->segs[0].first <= sp->acked + 1)
		return;
	struct hvt_spool_damage d = { .lost_first = sp->acked + 1, .lost_last = sp->segs[0].first - 1 };
	hvt_strlcpy(d.why, "no segment holds them (deleted or lost)", sizeof d.why);
	spool_note_damage(sp, &d, NULL);
	sp->acked = sp->acked_persisted = sp->segs[0].first - 1;
	spool_persist_checkpoint(sp, sp->acked);
}

struct hvt_spool *hvt_spool_open(const struct hvt_spool_opts *o, char *err, size_t errsize)
{
	struct hvt_spool *sp = hvt_calloc(1, sizeof *sp);
	int rc;

	sp->o = *o;
	sp->dir = hvt_strdup(o->dir);
	sp->name = hvt_strdup(o->name ? o->name : "spool");
	sp->o.dir = sp->dir;
	sp->o.name = sp->name;
	if (!sp->o.segment_bytes)
		sp->o.segment_bytes = 16u << 20;
	sp->wfd = -1;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->cond, &ca);
	pthread_condattr_destroy(&ca);

	if ((rc = hvt_mkdir_p(sp->dir, 0700)) < 0) {
		snprintf(err, errsize, "cannot create %s: %s", sp->dir, strerror(-rc));
		goto fail;
	}
	if ((rc = spool_list_segments(sp)) < 0) {
		snprintf(err, errsize, "cannot list %s: %s", sp->dir, strerror(-rc));
		goto fail;
	}
	if (load_or_make_meta(sp, sp->nsegs > 0, err, errsize) < 0)
		goto fail;
	spool_load_checkpoint(sp);
	if (sp->o.hold_for_state)
		sp->hold = state_upto(sp);
	/* what is acknowledged (and covered by the state) can go at once */
	trim(sp);
	missing_before_first(sp);
	if (sp->nsegs > 0) {
		if (spool_verify_segments(sp, true, NULL, err, errsize) < 0)
			goto fail;
	} else {
		sp->next_seq = sp->acked + 1;
	}
	if (sp->next_seq <= sp->acked) {
		/* the checkpoint is ahead of what is on disk (segments removed by
		 * hand): continue numbering after it rather than reuse numbers */
		hvt_log(LOG_WARNING, "%s: checkpoint %" PRIu64 " is ahead of the last record %" PRIu64
			"; continuing after the checkpoint", sp->name, sp->acked, sp->next_seq - 1);
		sp->next_seq = sp->acked + 1;
		if ((rc = start_segment(sp, sp->next_seq)) < 0)
			goto fail_rc;
	} else if (sp->nsegs == 0) {
		if ((rc = start_segment(sp, sp->next_seq)) < 0)
			goto fail_rc;
	} else {
		struct spool_seg *s = &sp->segs[sp->nsegs - 1];
		char *path = spool_seg_path(sp, s->first);
		sp->wfd = open(path, O_RDWR | O_CLOEXEC);
		if (sp->wfd < 0) {
			snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
			free(path);
			goto fail;
		}
		free(path);
		sp->wbytes = s->bytes;
	}
	sp->committed = sp->written = sp->next_seq - 1;
	return sp;
fail_rc:
	snprintf(err, errsize, "cannot create a segment in %s: %s", sp->dir, strerror(-rc));
fail:
	hvt_spool_close(sp);
	return NULL;
}

static int flush_wbuf(struct hvt_spool *sp);

void hvt_spool_close(struct hvt_spool *sp)
{
	if (!sp)
		return;
	if (sp->wfd >= 0) {
		if (flush_wbuf(sp) < 0)
			hvt_log(LOG_ERR, "%s: records appended last could not be written: %s", sp->name,
				strerror(-sp->wbuf_error));
		if (sp->dirty && sp->o.fsync != HVT_FSYNC_NEVER)
			fdatasync(sp->wfd);
		close(sp->wfd);
		sp->wfd = -1;
	}
	hvt_buf_free(&sp->wbuf);
	if (sp->acked != sp->acked_persisted)
		hvt_spool_ack(sp, sp->acked, true);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	free(sp->damage);
	free(sp->segs);
	free(sp->dir);
	free(sp->name);
	free(sp);
}

const char *hvt_spool_id(const struct hvt_spool *sp) { return sp->id; }
uint64_t hvt_spool_recovered_cut_bytes(const struct hvt_spool *sp) { return sp->cut_bytes; }
uint64_t hvt_spool_next_seq(struct hvt_spool *sp) { return sp->next_seq; }

/* ---- writer ------------------------------------------------------------ */

/* Write the buffered records with one write.  On failure nothing partial
 * stays in the file and the buffer is kept for the next attempt. */
static int flush_wbuf(struct hvt_spool *sp)
{
	size_t done = 0;

	while (done < sp->wbuf.len) {
		ssize_t w = pwrite(sp->wfd, sp->wbuf.data + done, sp->wbuf.len - done, (off_t)(sp->wbytes + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc = w < 0 ? -errno : -EIO;
			if (ftruncate(sp->wfd, (off_t)sp->wbytes) < 0)
				hvt_log(LOG_ERR, "%s: cannot undo a partial write: %s", sp->name, strerror(errno));
			sp->wbuf_error = rc;
			return rc;
		}
		done += (size_t)w;
	}
	sp->wbytes += sp->wbuf.len;
	hvt_buf_reset(&sp->wbuf);
	sp->wbuf_error = 0;
	sp->written = sp->next_seq - 1;
	if (done)
		sp->dirty = true;
	return 0;
}

/* Records are gathered in memory and written at commit (or every MiB):
 * one write per burst instead of one per record.  Nothing is visible to
 * readers, nor acknowledged to anyone, before a commit, so nothing that
 * was promised can be lost with the buffer. */
int hvt_spool_append_meta(struct hvt_spool *sp, const void *data, size_t len, const void *meta,
			  size_t meta_len, uint64_t *seq)
{
	struct spool_rec_hdr h = { SPOOL_REC_MAGIC, (uint32_t)len, sp->next_seq, 0, (uint32_t)meta_len };
	size_t total = SPOOL_REC_HDR + len + meta_len;
	int rc;

	if (len > SPOOL_REC_MAX || meta_len > SPOOL_META_MAX)
		return -EMSGSIZE;
	if (sp->wbuf_error && sp->wbuf.len >= WBUF_MAX && (rc = flush_wbuf(sp)) < 0)
		return rc;
	uint64_t used = sp->wbytes + sp->wbuf.len;
	if (used > 0 && used + total > sp->o.segment_bytes) {
		if ((rc = hvt_spool_commit(sp)) < 0)
			return rc;
		if (sp->dirty && fdatasync(sp->wfd) == 0)   /* a full segment is settled */
			sp->dirty = false;
		if ((rc = start_segment(sp, sp->next_seq)) < 0)
			return rc;
	}
	h.crc = spool_rec_crc(&h, data, meta);
	hvt_buf_append(&sp->wbuf, &h, SPOOL_REC_HDR);
	hvt_buf_append(&sp->wbuf, data, len);
	if (meta_len)
		hvt_buf_append(&sp->wbuf, meta, meta_len);
	if (seq)
		*seq = sp->next_seq;
	sp->next_seq++;
	pthread_mutex_lock(&sp->lock);
	sp->total_bytes += total;
	pthread_mutex_unlock(&sp->lock);
	if (sp->wbuf.len >= WBUF_FLUSH)
		flush_wbuf(sp);       /* an error surfaces at the commit */
	return 0;
}

int hvt_spool_append(struct hvt_spool *sp, const void *data, size_t len, uint64_t *seq)
{
	return hvt_spool_append_meta(sp, data, len, NULL, 0, seq);
}

int hvt_spool_sync(struct hvt_spool *sp)
{
	int rc = flush_wbuf(sp);

	if (rc < 0)
		return rc;
	if (!sp->dirty)
		return 0;
	if (fdatasync(sp->wfd) < 0)
		return -errno;
	sp->dirty = false;
	sp->last_sync_us = hvt_mono_us();
	return 0;
}

bool hvt_spool_dirty(const struct hvt_spool *sp)
{
	return sp->dirty || sp->wbuf.len;
}

int hvt_spool_commit(struct hvt_spool *sp)
{
	int rc = flush_wbuf(sp);

	if (rc < 0)
		return rc;
	if (sp->o.fsync == HVT_FSYNC_ALWAYS ||
	    (sp->o.fsync == HVT_FSYNC_INTERVAL &&
	     hvt_mono_us() - sp->last_sync_us >= sp->o.fsync_interval_ms * 1000))
		rc = hvt_spool_sync(sp);
	pthread_mutex_lock(&sp->lock);
	sp->segs[sp->nsegs - 1].bytes = sp->wbytes;
	if (sp->committed != sp->written) {
		sp->committed = sp->written;
		pthread_cond_broadcast(&sp->cond);
	}
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* ---- acknowledgement and trimming -------------------------------------- */

int spool_persist_checkpoint(struct hvt_spool *sp, uint64_t acked)
{
	char *path = hvt_asprintf("%s/checkpoint", sp->dir);
	char text[96];
	int n = snprintf(text, sizeof text, "acked=%" PRIu64 "\nid=%s\n", acked, sp->id);
	int rc = hvt_write_file_atomic(path, text, (size_t)n, 0600);

	if (rc < 0)
		hvt_log(LOG_ERR, "%s: cannot write %s: %s", sp->name, path, strerror(-rc));
	free(path);
	return rc;
}

/* Delete segments whose every record is at or below the persisted
 * checkpoint and, with hold_for_state, the saved state.  A segment leaves
 * the list before its file goes, so a reader that cannot open a listed
 * segment knows it is damage, not trimming. */
static void trim(struct hvt_spool *sp)
{
	for (;;) {
		pthread_mutex_lock(&sp->lock);
		if (sp->nsegs < 2) {
			pthread_mutex_unlock(&sp->lock);
			break;
		}
		uint64_t last_in_oldest = sp->segs[1].first - 1;
		if (last_in_oldest > sp->acked_persisted || (sp->o.hold_for_state && last_in_oldest > sp->hold)) {
			pthread_mutex_unlock(&sp->lock);
			break;
		}
		uint64_t first = sp->segs[0].first, size = sp->segs[0].bytes;
		memmove(sp->segs, sp->segs + 1, sizeof(struct spool_seg) * (size_t)(sp->nsegs - 1));
		sp->nsegs--;
		pthread_mutex_unlock(&sp->lock);
		char *path = spool_seg_path(sp, first);
		struct stat st;
		if (stat(path, &st) == 0)
			size = (uint64_t)st.st_size;
		if (unlink(path) < 0 && errno != ENOENT)
			hvt_log(LOG_ERR, "%s: cannot delete %s: %s", sp->name, path, strerror(errno));
		free(path);
		pthread_mutex_lock(&sp->lock);
		sp->total_bytes -= HVT_MIN(size, sp->total_bytes);
		pthread_mutex_unlock(&sp->lock);
	}
}

int hvt_spool_ack(struct hvt_spool *sp, uint64_t seq, bool force)
{
	long long now = hvt_mono_us();
	uint64_t to_persist;

	pthread_mutex_lock(&sp->lock);
	if (seq > sp->committed)
		seq = sp->committed;
	if (seq > sp->acked)
		sp->acked = seq;
	if (sp->acked == sp->acked_persisted ||
	    (!force && now - sp->last_ckpt_us < CKPT_INTERVAL_US)) {
		pthread_mutex_unlock(&sp->lock);
		return 0;
	}
	to_persist = sp->acked;
	sp->last_ckpt_us = now;
	pthread_mutex_unlock(&sp->lock);

	int rc = spool_persist_checkpoint(sp, to_persist);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&sp->lock);
	if (to_persist > sp->acked_persisted)
		sp->acked_persisted = to_persist;
	pthread_mutex_unlock(&sp->lock);
	trim(sp);
	return 0;
}

uint64_t hvt_spool_acked(struct hvt_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	uint64_t v = sp->acked;
	pthread_mutex_unlock(&sp->lock);
	return v;
}

uint64_t hvt_spool_last_seq(struct hvt_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	uint64_t v = sp->committed;
	pthread_mutex_unlock(&sp->lock);
	return v;
}

uint64_t hvt_spool_first_seq(struct hvt_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	uint64_t v = sp->nsegs ? sp->segs[0].first : sp->committed + 1;
	pthread_mutex_unlock(&sp->lock);
	return v;
}

uint64_t hvt_spool_bytes(struct hvt_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	uint64_t v = sp->total_bytes;
	pthread_mutex_unlock(&sp->lock);
	return v;
}

uint64_t hvt_spool_max_bytes(const struct hvt_spool *sp)
{
	return sp->o.max_bytes;
}

bool hvt_spool_over(struct hvt_spool *sp)
{
	return sp->o.max_bytes && hvt_spool_bytes(sp) >= sp->o.max_bytes;
}

uint64_t hvt_spool_drop_oldest(struct hvt_spool *sp, uint64_t *from_out, uint64_t *to_out)
{
	if (from_out)
		*from_out = 0;
	if (to_out)
		*to_out = 0;
	if (sp->nsegs < 2) {
		/* the active segment is the oldest: close it so it can go */
		hvt_spool_commit(sp);
		if (sp->wbytes + sp->wbuf.len == 0 || start_segment(sp, sp->next_seq) < 0)
			return 0;
	}
	pthread_mutex_lock(&sp->lock);
	uint64_t first = sp->segs[0].first, next = sp->segs[1].first, size = sp->segs[0].bytes;
	uint64_t from = HVT_MAX(first, sp->acked + 1);
	uint64_t dropped = next > from ? next - from : 0;
	memmove(sp->segs, sp->segs + 1, sizeof(struct spool_seg) * (size_t)(sp->nsegs - 1));
	sp->nsegs--;
	if (sp->acked < next - 1)
		sp->acked = next - 1;
	pthread_mutex_unlock(&sp->lock);

	char *path = spool_seg_path(sp, first);
	struct stat st;
	if (stat(path, &st) == 0)
		size = (uint64_t)st.st_size;
	unlink(path);
	free(path);
	pthread_mutex_lock(&sp->lock);
	sp->total_bytes -= HVT_MIN(size, sp->total_bytes);
	pthread_mutex_unlock(&sp->lock);
	hvt_spool_ack(sp, next - 1, true);
	if (dropped) {
		if (from_out)
			*from_out = from;
		if (to_out)
			*to_out = next - 1;
	}
	return dropped;
}

/* ---- the owner's state ------------------------------------------------- */

int hvt_spool_save_state(struct hvt_spool *sp, const void *data, size_t len, uint64_t upto)
{
	char *path = hvt_asprintf("%s/state", sp->dir);
	struct hvt_buf b = { 0 };

	hvt_buf_printf(&b, "HVTSTATE 1 upto=%" PRIu64 " len=%zu crc=%08x\n", upto, len,
		       (unsigned)hvt_crc32c(0, data, len));
	hvt_buf_append(&b, data, len);
	int rc = hvt_write_file_atomic(path, b.data, b.len, 0600);
	hvt_buf_free(&b);
	if (rc < 0) {
		hvt_log(LOG_ERR, "%s: cannot write %s: %s", sp->name, path, strerror(-rc));
		free(path);
		return rc;
	}
	free(path);
	pthread_mutex_lock(&sp->lock);
	if (upto > sp->hold)
		sp->hold = upto;
	pthread_mutex_unlock(&sp->lock);
	trim(sp);
	return 0;
}

int hvt_spool_load_state(struct hvt_spool *sp, char **data, size_t *len, uint64_t *upto)
{
	char *path = hvt_asprintf("%s/state", sp->dir), *text = NULL;
	size_t n;
	unsigned long long u, l;
	unsigned crc;
	int used = 0;
	int rc = hvt_read_file(path, STATE_MAX, &text, &n);

	*data = NULL;
	*len = 0;
	*upto = 0;
	if (rc == -ENOENT) {
		free(path);
		return rc;
	}
	if (rc < 0 || sscanf(text, "HVTSTATE 1 upto=%llu len=%llu crc=%x\n%n", &u, &l, &crc, &used) != 3 ||
	    !used || (size_t)used + l != n || hvt_crc32c(0, text + used, (size_t)l) != crc) {
		hvt_log(LOG_ERR, "%s: %s is %s: what it kept (the inputs' positions, the idempotency "
			"window) is rebuilt from the records still spooled only", sp->name, path,
			rc < 0 ? strerror(-rc) : "damaged");
		free(text);
		free(path);
		return -EBADMSG;
	}
	free(path);
	memmove(text, text + used, (size_t)l);
	text[l] = '\0';
	*data = text;
	*len = (size_t)l;
	*upto = u;
	return 0;
}

bool hvt_spool_hold_blocking(struct hvt_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	bool b = sp->o.hold_for_state && sp->nsegs >= 2 && sp->segs[1].first - 1 <= sp->acked_persisted &&
		 sp->segs[1].first - 1 > sp->hold;
	pthread_mutex_unlock(&sp->lock);
	return b;
}

/* ---- waiting ----------------------------------------------------------- */

int hvt_spool_wait(struct hvt_spool *sp, uint64_t seq, int timeout_ms)
{
	struct timespec dl;
	int ready;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sp->lock);
	unsigned gen = sp->wake_gen;
	while (sp->committed <= seq && gen == sp->wake_gen)
		if (pthread_cond_timedwait(&sp->cond, &sp->lock, &dl) != 0)
			break;
	ready = sp->committed > seq;
	pthread_mutex_unlock(&sp->lock);
	return ready;
}

void hvt_spool_wake(struct hvt_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	sp->wake_gen++;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}

/* ---- readers ----------------------------------------------------------- */

struct hvt_spool_reader *hvt_spool_reader_new(struct hvt_spool *sp, uint64_t from_seq)
{
	struct hvt_spool_reader *r = hvt_calloc(1, sizeof *r);

	r->sp = sp;
	r->fd = -1;
	r->buf = hvt_malloc(READ_CHUNK);
	hvt_spool_reader_seek(r, from_seq);
	return r;
}

void hvt_spool_reader_free(struct hvt_spool_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->rec);
	free(r);
}

static void reader_close(struct hvt_spool_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->seg_first = 0;
	r->buf_len = 0;
}

/* Where a segment stands in the list: its readable bytes and the next
 * segment's first seq (0: it is the last); false if it is not listed. */
static bool seg_info(struct hvt_spool *sp, uint64_t first, uint64_t *end, uint64_t *next_first)
{
	bool found = false;

	pthread_mutex_lock(&sp->lock);
	for (int i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].first == first) {
			found = true;
			*end = sp->segs[i].bytes;
			*next_first = i + 1 < sp->nsegs ? sp->segs[i + 1].first : 0;
		}
	pthread_mutex_unlock(&sp->lock);
	return found;
}

static int reader_open(struct hvt_spool_reader *r, uint64_t first)
{
	char *path = spool_seg_path(r->sp, first);

	reader_close(r);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = -errno;
		uint64_t end, next;
		if (seg_info(r->sp, first, &end, &next)) {
			/* listed, hence not trimmed: the segment is lost */
			struct hvt_spool_damage d = { .lost_first = HVT_MAX(first, r->next_seq),
						      .lost_last = next ? next - 1 : 0, .segment = first };
			snprintf(d.why, sizeof d.why, "cannot open the segment: %s", strerror(-e));
			spool_note_damage(r->sp, &d, NULL);
		}
		free(path);
		return e;
	}
	free(path);
	r->seg_first = first;
	r->off = 0;
	return 0;
}

/* Bytes of [off, off+n) of the current segment; NULL on short read. */
static const char *reader_bytes(struct hvt_spool_reader *r, uint64_t off, size_t n)
{
	if (off >= r->buf_off && off + n <= r->buf_off + r->buf_len)
		return r->buf + (off - r->buf_off);
	if (n > READ_CHUNK) {
		r->rec = hvt_realloc(r->rec, n);
		if (pread(r->fd, r->rec, n, (off_t)off) != (ssize_t)n)
			return NULL;
		return r->rec;
	}
	ssize_t got = pread(r->fd, r->buf, READ_CHUNK, (off_t)off);
	if (got < (ssize_t)n) {
		r->buf_len = 0;
		return NULL;
	}
	r->buf_off = off;
	r->buf_len = (size_t)got;
	return r->buf;
}

int hvt_spool_reader_seek(struct hvt_spool_reader *r, uint64_t from_seq)
{
	struct hvt_spool *sp = r->sp;
	uint64_t first = 0, end = 0;

	if (from_seq == 0)
		from_seq = 1;
	reader_close(r);
	r->can_unread = false;
	r->next_seq = from_seq;
	r->pending_skip = 0;
	pthread_mutex_lock(&sp->lock);
	for (int i = 0; i < sp->nsegs; i++) {
		if (sp->segs[i].first <= from_seq || i == 0) {
			first = sp->segs[i].first;
			end = sp->segs[i].bytes;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	if (!first)
		return 0;
	if (first > from_seq) {
		r->pending_skip = first - from_seq;
		r->next_seq = first;
	}
	int rc = reader_open(r, first);
	if (rc < 0)
		return rc;
	/* walk headers to the wanted record (holes: to the first at or after
	 * it); next() checks what it lands on */
	uint64_t seq = first;
	while (seq < from_seq && r->off + SPOOL_REC_HDR <= end) {
		const char *hp = reader_bytes(r, r->off, SPOOL_REC_HDR);
		struct spool_rec_hdr h;
		if (!hp)
			break;
		memcpy(&h, hp, sizeof h);       /* headers need not be aligned */
		if ((h.magic != SPOOL_REC_MAGIC && h.magic != SPOOL_HOLE_MAGIC) || h.seq < seq ||
		    h.seq >= from_seq || h.len > SPOOL_REC_MAX || h.meta_len > SPOOL_META_MAX)
			break;
		r->off += SPOOL_REC_HDR + (uint64_t)h.len + h.meta_len;
		seq = h.seq + 1;
	}
	/* the wanted record may be past the committed end: resume from there */
	if (seq > r->next_seq) {
		r->pending_skip = 0;
		r->next_seq = seq;
	}
	if (r->next_seq < from_seq && seq < from_seq)
		r->next_seq = seq;
	return 0;
}

void hvt_spool_reader_unread(struct hvt_spool_reader *r)
{
	if (!r->can_unread)
		return;
	r->off = r->prev_off;
	r->next_seq = r->prev_seq;
	r->pending_skip = r->prev_skip;
	r->can_unread = false;
}

/* The bytes at r->off are no intact record: find the next one, set what
 * is in between aside, and count the seqs it held. */
static int reader_resync(struct hvt_spool_reader *r, uint64_t end, uint64_t next_first)
{
	size_t n = (size_t)(end - r->off);
	char *img = hvt_malloc(n ? n : 1);
	ssize_t got = pread(r->fd, img, n, (off_t)r->off);
	struct spool_scan s;
	struct spool_scan_item it;

	if (got < 0) {
		int e = -errno;
		free(img);
		return e;
	}
	spool_scan_init(&s, img, (uint64_t)got, r->off, r->next_seq, next_first);
	enum spool_scan_kind k = spool_scan_next(&s, &it);
	if (k == SCAN_DAMAGED || k == SCAN_TORN || (k == SCAN_END && got < (ssize_t)n)) {
		struct hvt_spool_damage d = { .lost_first = it.lost_first, .lost_last = it.lost_last,
					      .segment = r->seg_first, .offset = it.off, .bytes = it.len };
		if (k == SCAN_END) {      /* the file is shorter than the list says */
			d.offset = r->off + (uint64_t)got;
			d.bytes = 0;
			d.lost_first = r->next_seq;
			d.lost_last = next_first ? next_first - 1 : 0;
			it.len = n;
		}
		hvt_strlcpy(d.why, k == SCAN_END ? "the segment is shorter than was written" : it.why,
			    sizeof d.why);
		hvt_log(LOG_ERR, "%s: %s at offset %" PRIu64 " of segment %016" PRIx64 "; the intact records "
			"after it are read on", r->sp->name, d.why, d.offset, r->seg_first);
		spool_note_damage(r->sp, &d, img + (it.off - r->off));
		r->off = d.bytes ? it.off + it.len : end;
		if (d.lost_last >= r->next_seq && d.lost_first) {
			r->pending_skip += d.lost_last - r->next_seq + 1;
			r->next_seq = d.lost_last + 1;
		}
	} else {
		free(img);                /* intact after all: the file changed or a read was short */
		return -EIO;
	}
	r->buf_len = 0;
	free(img);
	return 0;
}

int hvt_spool_reader_next(struct hvt_spool_reader *r, struct hvt_spool_rec *rec)
{
	struct hvt_spool *sp = r->sp;

	r->can_unread = false;
	for (;;) {
		uint64_t committed, end = 0, next_first = 0, oldest;
		bool found;

		pthread_mutex_lock(&sp->lock);
		committed = sp->committed;
		oldest = sp->nsegs ? sp->segs[0].first : 0;
		pthread_mutex_unlock(&sp->lock);
		found = r->fd >= 0 && seg_info(sp, r->seg_first, &end, &next_first);

		if (r->next_seq > committed)
			return 0;
		if (!found) {
			/* not positioned, or our segment was dropped under us */
			uint64_t want = r->next_seq;
			if (oldest > want) {
				r->pending_skip += oldest - want;
				want = oldest;
			}
			uint64_t skip = r->pending_skip;     /* the seek restarts the count */
			int rc = hvt_spool_reader_seek(r, want);
			r->pending_skip += skip;
			if (rc < 0 && rc != -ENOENT) {
				/* a listed segment that cannot be opened: recorded as
				 * damage; go on with the next one */
				uint64_t e2, nf = 0;
				if (!seg_info(sp, want, &e2, &nf) || !nf)
					return rc;
				r->pending_skip += nf - r->next_seq;
				r->next_seq = nf;
				continue;
			}
			if (r->fd < 0)
				return 0;
			continue;
		}
		if (r->off >= end) {
			if (!next_first)
				return 0;           /* the active segment: wait for more */
			if (next_first > r->next_seq)
				r->pending_skip += next_first - r->next_seq;
			r->next_seq = next_first;
			int rc = reader_open(r, next_first);
			if (rc < 0)
				reader_close(r);    /* recorded as damage; the next loop moves on */
			continue;
		}
		const char *hp = reader_bytes(r, r->off, SPOOL_REC_HDR);
		struct spool_rec_hdr h;
		if (hp)
			memcpy(&h, hp, sizeof h);
		uint64_t size = hp ? SPOOL_REC_HDR + (uint64_t)h.len + h.meta_len : 0;
		if (!hp || (h.magic != SPOOL_REC_MAGIC && h.magic != SPOOL_HOLE_MAGIC) || h.len > SPOOL_REC_MAX ||
		    h.meta_len > SPOOL_META_MAX || h.seq < r->next_seq || (next_first && h.seq >= next_first) ||
		    r->off + size > end) {
			int rc = reader_resync(r, end, next_first);
			if (rc < 0)
				return rc;
			continue;
		}
		const char *payload = reader_bytes(r, r->off + SPOOL_REC_HDR, (size_t)(size - SPOOL_REC_HDR));
		if (!payload || spool_rec_crc(&h, payload, payload + h.len) != h.crc) {
			int rc = reader_resync(r, end, next_first);
			if (rc < 0)
				return rc;
			continue;
		}
		if (h.magic == SPOOL_HOLE_MAGIC) {
			/* seqs a repair set aside: the jump to the next record counts them */
			r->off += size;
			continue;
		}
		if (h.seq > r->next_seq) {
			r->pending_skip += h.seq - r->next_seq;
			r->next_seq = h.seq;
		}
		rec->seq = h.seq;
		rec->data = payload;
		rec->len = h.len;
		rec->meta = h.meta_len ? payload + h.len : NULL;
		rec->meta_len = h.meta_len;
		rec->skipped = r->pending_skip;
		r->prev_skip = r->pending_skip;
		r->prev_seq = h.seq;
		r->pending_skip = 0;
		r->prev_off = r->off;
		r->can_unread = true;
		r->off += size;
		r->next_seq = h.seq + 1;
		return 1;
	}
}
