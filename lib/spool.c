/* spool.c - see spool.h. */
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
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "spool.h"
#include "trail.h"
#include "util.h"

#define REC_MAGIC 0x52545648u          /* "HVTR" little-endian */
#define REC_HDR 24u
#define REC_MAX (64u << 20)
#define CKPT_INTERVAL_US 200000
#define READ_CHUNK (256u << 10)
#define WBUF_FLUSH (1u << 20)      /* write the buffered records out at this size */
#define WBUF_MAX (8u << 20)        /* ...and refuse more while writing fails */
#define SPOOL_ID_LEN HVT_STREAM_LEN   /* the spool's id is its stream (trail.h) */

struct rec_hdr {
	uint32_t magic;
	uint32_t len;
	uint64_t seq;
	uint32_t crc;
	uint32_t pad;
};

struct seg {
	uint64_t first;       /* seq of its first record */
	uint64_t bytes;       /* bytes readers may read */
};

struct hvt_spool {
	char *dir;
	char *name;
	struct hvt_spool_opts o;
	char id[SPOOL_ID_LEN + 1];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct seg *segs;
	int nsegs;
	int wfd;              /* active (last) segment, writer only */
	uint64_t wbytes;      /* bytes written to the active segment */
	struct hvt_buf wbuf;  /* appended records not yet written (writer only) */
	uint64_t written;     /* highest seq written to the file */
	int wbuf_error;       /* the last failed write of wbuf (-errno), or 0 */
	uint64_t next_seq;    /* writer only */
	uint64_t committed;   /* highest seq visible to readers */
	uint64_t acked;
	uint64_t acked_persisted;
	uint64_t total_bytes; /* on-disk, all segments */
	long long last_ckpt_us;
	long long last_sync_us;
	bool dirty;           /* appended since last fdatasync */
	uint64_t cut_bytes;
	unsigned wake_gen;
};

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

static char *seg_path(const struct hvt_spool *sp, uint64_t first)
{
	return hvt_asprintf("%s/%016" PRIx64 ".seg", sp->dir, first);
}

static uint32_t rec_crc(const struct rec_hdr *h, const void *payload)
{
	uint32_t c = hvt_crc32c(0, &h->seq, sizeof h->seq);

	c = hvt_crc32c(c, &h->len, sizeof h->len);
	return hvt_crc32c(c, payload, h->len);
}

/* ---- open / recovery --------------------------------------------------- */

static int load_or_make_meta(struct hvt_spool *sp, bool have_segments, char *err, size_t errsize)
{
	char *path = hvt_asprintf("%s/meta", sp->dir), *text = NULL;
	int rc = hvt_read_file(path, 4096, &text, NULL);

	if (rc == 0) {
		char *p = strstr(text, "id=");
		if (!p || strspn(p + 3, "0123456789abcdef") < SPOOL_ID_LEN) {
			snprintf(err, errsize, "%s: no valid 'id=' line", path);
			rc = -EINVAL;
		} else {
			memcpy(sp->id, p + 3, SPOOL_ID_LEN);
			sp->id[SPOOL_ID_LEN] = '\0';
		}
	} else if (rc == -ENOENT && !have_segments) {
		hvt_stream_id_new(sp->id);   /* a new spool is a new stream */
		char *meta = hvt_asprintf("id=%s\nformat=1\n", sp->id);
		rc = hvt_write_file_atomic(path, meta, strlen(meta), 0600);
		free(meta);
		if (rc < 0)
			snprintf(err, errsize, "cannot create %s: %s", path, strerror(-rc));
	} else if (rc == -ENOENT) {
		snprintf(err, errsize, "%s is missing but segments exist: refusing to guess the spool's identity", path);
		rc = -EINVAL;
	} else {
		snprintf(err, errsize, "cannot read %s: %s", path, strerror(-rc));
	}
	free(text);
	free(path);
	return rc;
}

static void load_checkpoint(struct hvt_spool *sp)
{
	char *path = hvt_asprintf("%s/checkpoint", sp->dir), *text = NULL;

	if (hvt_read_file(path, 4096, &text, NULL) == 0) {
		char *p = strstr(text, "acked=");
		if (p)
			sp->acked = strtoull(p + 6, NULL, 10);
	}
	sp->acked_persisted = sp->acked;
	free(text);
	free(path);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static int list_segments(struct hvt_spool *sp)
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
		char *p = seg_path(sp, first);
		int src = stat(p, &st);
		free(p);
		if (src < 0)
			continue;
		sp->segs = hvt_realloc(sp->segs, sizeof(struct seg) * (size_t)(sp->nsegs + 1));
		sp->segs[sp->nsegs].first = first;
		sp->segs[sp->nsegs].bytes = (uint64_t)st.st_size;
		sp->total_bytes += (uint64_t)st.st_size;
		sp->nsegs++;
	}
	closedir(d);
	if (sp->nsegs > 1)      /* segs is NULL in a new spool: qsort(NULL, 0) is UB */
		qsort(sp->segs, (size_t)sp->nsegs, sizeof(struct seg), cmp_seg);
	return 0;
}

/* Scan the newest segment, keep the valid prefix, cut the rest. */
static int recover_tail(struct hvt_spool *sp, char *err, size_t errsize)
{
	struct seg *s = &sp->segs[sp->nsegs - 1];
	char *path = seg_path(sp, s->first);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	uint64_t off = 0, seq = s->first, size = s->bytes;
	char *payload = NULL;
	const char *why = NULL;

	if (fd < 0) {
		snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while (off < size) {
		struct rec_hdr h;
		if (size - off < REC_HDR) {
			why = "a torn record header";
			break;
		}
		if (pread(fd, &h, REC_HDR, (off_t)off) != REC_HDR) {
			why = "a read error";
			break;
		}
		if (h.magic != REC_MAGIC || h.len > REC_MAX || h.seq != seq) {
			why = "a corrupt record header";
			break;
		}
		if (size - off - REC_HDR < h.len) {
			why = "a torn record";
			break;
		}
		payload = hvt_realloc(payload, h.len ? h.len : 1);
		if (pread(fd, payload, h.len, (off_t)(off + REC_HDR)) != (ssize_t)h.len) {
			why = "a read error";
			break;
		}
		if (rec_crc(&h, payload) != h.crc) {
			why = "a checksum mismatch";
			break;
		}
		off += REC_HDR + h.len;
		seq++;
	}
	free(payload);
	if (off < size) {
		hvt_log(LOG_WARNING, "%s: cut %" PRIu64 " bytes after record %" PRIu64
			" in %s: %s (left by an unclean stop); nothing after the last intact record is replayed",
			sp->name, size - off, seq - 1, path, why);
		if (ftruncate(fd, (off_t)off) < 0) {
			snprintf(err, errsize, "cannot truncate %s: %s", path, strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		sp->cut_bytes += size - off;
		sp->total_bytes -= size - off;
	}
	free(path);
	s->bytes = off;
	sp->wfd = fd;
	sp->wbytes = off;
	sp->next_seq = seq;
	return 0;
}

static int start_segment(struct hvt_spool *sp, uint64_t first)
{
	char *path = seg_path(sp, first);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		int e = -errno;
		free(path);
		return e;
	}
	free(path);
	hvt_fsync_dir(sp->dir);
	pthread_mutex_lock(&sp->lock);
	sp->segs = hvt_realloc(sp->segs, sizeof(struct seg) * (size_t)(sp->nsegs + 1));
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
	if ((rc = list_segments(sp)) < 0) {
		snprintf(err, errsize, "cannot list %s: %s", sp->dir, strerror(-rc));
		goto fail;
	}
	if (load_or_make_meta(sp, sp->nsegs > 0, err, errsize) < 0)
		goto fail;
	load_checkpoint(sp);
	if (sp->nsegs > 0) {
		if (recover_tail(sp, err, errsize) < 0)
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
	}
	hvt_buf_free(&sp->wbuf);
	if (sp->acked != sp->acked_persisted)
		hvt_spool_ack(sp, sp->acked, true);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
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
int hvt_spool_append(struct hvt_spool *sp, const void *data, size_t len, uint64_t *seq)
{
	struct rec_hdr h = { REC_MAGIC, (uint32_t)len, sp->next_seq, 0, 0 };
	int rc;

	if (len > REC_MAX)
		return -EMSGSIZE;
	if (sp->wbuf_error && sp->wbuf.len >= WBUF_MAX && (rc = flush_wbuf(sp)) < 0)
		return rc;
	uint64_t used = sp->wbytes + sp->wbuf.len;
	if (used > 0 && used + REC_HDR + len > sp->o.segment_bytes) {
		if ((rc = hvt_spool_commit(sp)) < 0)
			return rc;
		if (sp->dirty && fdatasync(sp->wfd) == 0)   /* a full segment is settled */
			sp->dirty = false;
		if ((rc = start_segment(sp, sp->next_seq)) < 0)
			return rc;
	}
	h.crc = rec_crc(&h, data);
	hvt_buf_append(&sp->wbuf, &h, REC_HDR);
	hvt_buf_append(&sp->wbuf, data, len);
	if (seq)
		*seq = sp->next_seq;
	sp->next_seq++;
	pthread_mutex_lock(&sp->lock);
	sp->total_bytes += REC_HDR + len;
	pthread_mutex_unlock(&sp->lock);
	if (sp->wbuf.len >= WBUF_FLUSH)
		flush_wbuf(sp);       /* an error surfaces at the commit */
	return 0;
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

static int persist_checkpoint(struct hvt_spool *sp, uint64_t acked)
{
	char *path = hvt_asprintf("%s/checkpoint", sp->dir);
	char text[64];
	int n = snprintf(text, sizeof text, "acked=%" PRIu64 "\n", acked);
	int rc = hvt_write_file_atomic(path, text, (size_t)n, 0600);

	if (rc < 0)
		hvt_log(LOG_ERR, "%s: cannot write %s: %s", sp->name, path, strerror(-rc));
	free(path);
	return rc;
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

	int rc = persist_checkpoint(sp, to_persist);
	if (rc < 0)
		return rc;

	/* delete segments whose every record is at or below the checkpoint */
	for (;;) {
		pthread_mutex_lock(&sp->lock);
		if (to_persist > sp->acked_persisted)
			sp->acked_persisted = to_persist;
		if (sp->nsegs < 2 || sp->segs[1].first - 1 > sp->acked_persisted) {
			pthread_mutex_unlock(&sp->lock);
			break;
		}
		uint64_t first = sp->segs[0].first;
		pthread_mutex_unlock(&sp->lock);
		char *path = seg_path(sp, first);
		struct stat st;
		uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
		if (unlink(path) < 0 && errno != ENOENT)
			hvt_log(LOG_ERR, "%s: cannot delete %s: %s", sp->name, path, strerror(errno));
		free(path);
		pthread_mutex_lock(&sp->lock);
		memmove(sp->segs, sp->segs + 1, sizeof(struct seg) * (size_t)(sp->nsegs - 1));
		sp->nsegs--;
		sp->total_bytes -= HVT_MIN(size, sp->total_bytes);
		pthread_mutex_unlock(&sp->lock);
	}
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

uint64_t hvt_spool_drop_oldest(struct hvt_spool *sp)
{
	if (sp->nsegs < 2) {
		/* the active segment is the oldest: close it so it can go */
		hvt_spool_commit(sp);
		if (sp->wbytes + sp->wbuf.len == 0 || start_segment(sp, sp->next_seq) < 0)
			return 0;
	}
	pthread_mutex_lock(&sp->lock);
	uint64_t first = sp->segs[0].first, next = sp->segs[1].first;
	uint64_t from = HVT_MAX(first, sp->acked + 1);
	uint64_t dropped = next > from ? next - from : 0;
	memmove(sp->segs, sp->segs + 1, sizeof(struct seg) * (size_t)(sp->nsegs - 1));
	sp->nsegs--;
	if (sp->acked < next - 1)
		sp->acked = next - 1;
	pthread_mutex_unlock(&sp->lock);

	char *path = seg_path(sp, first);
	struct stat st;
	uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	unlink(path);
	free(path);
	pthread_mutex_lock(&sp->lock);
	sp->total_bytes -= HVT_MIN(size, sp->total_bytes);
	pthread_mutex_unlock(&sp->lock);
	hvt_spool_ack(sp, next - 1, true);
	return dropped;
}

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

static int reader_open(struct hvt_spool_reader *r, uint64_t first)
{
	char *path = seg_path(r->sp, first);

	reader_close(r);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (r->fd < 0)
		return -errno;
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
	/* walk headers to the wanted record */
	uint64_t seq = first;
	while (seq < r->next_seq && r->off + REC_HDR <= end) {
		const char *hp = reader_bytes(r, r->off, REC_HDR);
		struct rec_hdr h;
		if (!hp)
			break;
		memcpy(&h, hp, sizeof h);       /* headers need not be aligned */
		if (h.magic != REC_MAGIC || h.seq != seq)
			break;
		r->off += REC_HDR + h.len;
		seq++;
	}
	if (seq != r->next_seq) {
		/* the wanted record is past the committed end; resume from there */
		r->next_seq = seq;
	}
	return 0;
}

void hvt_spool_reader_unread(struct hvt_spool_reader *r)
{
	if (!r->can_unread)
		return;
	r->off = r->prev_off;
	r->next_seq--;
	r->pending_skip = r->prev_skip;
	r->can_unread = false;
}

int hvt_spool_reader_next(struct hvt_spool_reader *r, struct hvt_spool_rec *rec)
{
	struct hvt_spool *sp = r->sp;

	r->can_unread = false;
	for (;;) {
		uint64_t committed, end = 0, next_first = 0, oldest;
		bool found = false;

		pthread_mutex_lock(&sp->lock);
		committed = sp->committed;
		oldest = sp->nsegs ? sp->segs[0].first : 0;
		for (int i = 0; i < sp->nsegs; i++) {
			if (sp->segs[i].first == r->seg_first) {
				found = true;
				end = sp->segs[i].bytes;
				next_first = i + 1 < sp->nsegs ? sp->segs[i + 1].first : 0;
			}
		}
		pthread_mutex_unlock(&sp->lock);

		if (r->next_seq > committed)
			return 0;
		if (r->fd < 0 || !found) {
			/* not positioned, or our segment was dropped under us */
			uint64_t want = r->next_seq;
			if (oldest > want) {
				r->pending_skip += oldest - want;
				want = oldest;
			}
			uint64_t skip = r->pending_skip;     /* the seek restarts the count */
			int rc = hvt_spool_reader_seek(r, want);
			r->pending_skip += skip;
			if (rc < 0)
				return rc;
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
				return rc;
			continue;
		}
		const struct rec_hdr *hp = (const void *)reader_bytes(r, r->off, REC_HDR);
		struct rec_hdr h;
		if (hp)
			memcpy(&h, hp, sizeof h);
		if (!hp || h.magic != REC_MAGIC || h.len > REC_MAX || h.seq != r->next_seq ||
		    r->off + REC_HDR + h.len > end) {
			hvt_log(LOG_ERR, "%s: corrupt record header at offset %" PRIu64 " of segment %016" PRIx64
				"; skipping the rest of that segment", sp->name, r->off, r->seg_first);
			r->off = end;
			continue;
		}
		const char *payload = reader_bytes(r, r->off + REC_HDR, h.len);
		if (!payload || rec_crc(&h, payload) != h.crc) {
			hvt_log(LOG_ERR, "%s: checksum mismatch in record %" PRIu64 " (segment %016" PRIx64
				"); skipping it", sp->name, h.seq, r->seg_first);
			r->off += REC_HDR + h.len;
			r->next_seq++;
			r->pending_skip++;
			continue;
		}
		rec->seq = h.seq;
		rec->data = payload;
		rec->len = h.len;
		rec->skipped = r->pending_skip;
		r->prev_skip = r->pending_skip;
		r->pending_skip = 0;
		r->prev_off = r->off;
		r->can_unread = true;
		r->off += REC_HDR + h.len;
		r->next_seq++;
		return 1;
	}
}
