/* spool_repair.c - verifying segments, setting damage aside, and the
 * check/repair tool (see spool.h, "Damage").
 *
 * What is safe to do with damage, and therefore done without asking:
 * every intact record is kept (a rewritten segment holds the same bytes for
 * them), damaged bytes are copied to DIR/damaged/ before anything removes
 * them, and the seqs they held are recorded in a hole record in place, so
 * the next verification finds an explained hole, not damage again.  The
 * records themselves cannot be recovered; the owner reports them (the
 * forwarder as a spool.damaged event, which hvtrail verify names). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool_int.h"
#include "timefmt.h"
#include "util.h"

#define SEG_READ_MAX ((size_t)2 << 30)

uint64_t spool_damage_lost(const struct hvt_spool_damage *d)
{
	return d->lost_first && d->lost_last >= d->lost_first ? d->lost_last - d->lost_first + 1 : 0;
}

/* "records 8..8", "records 8..41 at most", "no record" */
static void lost_words(const struct hvt_spool_damage *d, char *buf, size_t size)
{
	if (!spool_damage_lost(d))
		snprintf(buf, size, "no record lost (stray bytes)");
	else
		snprintf(buf, size, "record%s %" PRIu64 "..%" PRIu64 "%s lost", spool_damage_lost(d) > 1 ? "s" : "",
			 d->lost_first, d->lost_last, d->lost_upper_bound ? " at most" : "");
}

void spool_set_aside(struct hvt_spool *sp, struct hvt_spool_damage *d, const void *bytes, const char *found_by)
{
	char *dir = hvt_asprintf("%s/damaged", sp->dir);
	char *base = hvt_asprintf("%s/%016" PRIx64 "-%016" PRIx64, dir, d->segment, d->offset);
	char *rec = hvt_asprintf("%s.rec", base), *why = hvt_asprintf("%s.why", base);
	char when[40], lost[96];
	int rc = hvt_mkdir_p(dir, 0700);

	hvt_format_rfc3339(hvt_now_us(), when, sizeof when);
	lost_words(d, lost, sizeof lost);
	if (rc == 0 && bytes && d->bytes)
		rc = hvt_write_file_atomic(rec, bytes, (size_t)d->bytes, 0600);
	struct hvt_buf b = { 0 };
	hvt_buf_printf(&b, "segment=%016" PRIx64 ".seg\noffset=%" PRIu64 "\nbytes=%" PRIu64 "\nlost_first=%" PRIu64
		       "\nlost_last=%" PRIu64 "\nlost_upper_bound=%s\nwhy=%s\nfound=%s by %s\nsummary=%s\n",
		       d->segment, d->offset, d->bytes, d->lost_first, d->lost_last,
		       d->lost_upper_bound ? "yes" : "no", d->why, when, found_by, lost);
	if (rc == 0)
		rc = hvt_write_file_atomic(why, b.data, b.len, 0600);
	hvt_buf_free(&b);
	if (rc < 0)
		hvt_log(LOG_ERR, "%s: cannot set damaged bytes aside in %s: %s", sp->name, dir, strerror(-rc));
	else if (bytes && d->bytes)
		hvt_strlcpy(d->set_aside, rec, sizeof d->set_aside);
	else
		hvt_strlcpy(d->set_aside, why, sizeof d->set_aside);
	free(rec);
	free(why);
	free(base);
	free(dir);
}

/* Record it once (readers may meet the same damage more than once). */
static bool add_damage(struct hvt_spool *sp, struct hvt_spool_damage *d)
{
	bool added = true;

	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; i < sp->ndamage; i++)
		if (sp->damage[i].segment == d->segment && sp->damage[i].offset == d->offset &&
		    sp->damage[i].lost_first == d->lost_first)
			added = false;
	if (added) {
		struct hvt_spool_damage *nd;
		sp->damage = hvt_realloc(sp->damage, sizeof *d * (sp->ndamage + 1));
		nd = &sp->damage[sp->ndamage++];
		*nd = *d;
		nd->acknowledged = d->acknowledged = spool_damage_lost(d) && d->lost_last <= sp->acked;
		sp->damage_found++;
		sp->damage_lost += spool_damage_lost(d);
		sp->damage_bytes += d->bytes;
	}
	pthread_mutex_unlock(&sp->lock);
	return added;
}

static void log_damage(struct hvt_spool *sp, const struct hvt_spool_damage *d)
{
	char lost[96];

	lost_words(d, lost, sizeof lost);
	if (d->segment)
		hvt_log(LOG_ERR, "%s: damage in segment %016" PRIx64 " at offset %" PRIu64 " (%" PRIu64 " bytes): %s; "
			"%s%s; set aside as %s", sp->name, d->segment, d->offset, d->bytes, d->why, lost,
			d->acknowledged ? " (they had been delivered)" : "",
			d->set_aside[0] ? d->set_aside : "(nothing)");
	else
		hvt_log(LOG_ERR, "%s: %s: %s", sp->name, lost, d->why);
}

void spool_note_damage(struct hvt_spool *sp, const struct hvt_spool_damage *in, const void *bytes)
{
	struct hvt_spool_damage d = *in;

	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; i < sp->ndamage; i++)
		if (sp->damage[i].segment == d.segment && sp->damage[i].offset == d.offset &&
		    sp->damage[i].lost_first == d.lost_first) {
			pthread_mutex_unlock(&sp->lock);
			return;
		}
	pthread_mutex_unlock(&sp->lock);
	if (d.segment)
		spool_set_aside(sp, &d, bytes, "a reader");
	if (add_damage(sp, &d))
		log_damage(sp, &d);
}

void hvt_spool_take_damage(struct hvt_spool *sp, struct hvt_spool_damage **v, size_t *n)
{
	pthread_mutex_lock(&sp->lock);
	/* damage[] keeps everything seen (to recognise it again); the owner
	 * takes what is new since its last call */
	size_t taken = sp->ndamage_taken;
	*n = sp->ndamage - taken;
	*v = *n ? hvt_malloc(sizeof **v * *n) : NULL;
	if (*n)
		memcpy(*v, sp->damage + taken, sizeof **v * *n);
	sp->ndamage_taken = sp->ndamage;
	pthread_mutex_unlock(&sp->lock);
}

void hvt_spool_damage_totals(struct hvt_spool *sp, uint64_t *found, uint64_t *lost, uint64_t *bytes)
{
	pthread_mutex_lock(&sp->lock);
	*found = sp->damage_found;
	*lost = sp->damage_lost;
	*bytes = sp->damage_bytes;
	pthread_mutex_unlock(&sp->lock);
}

void hvt_spool_log_repairs(struct hvt_spool *sp, int level, const char *fate)
{
	uint64_t found, lost, bytes;

	hvt_spool_damage_totals(sp, &found, &lost, &bytes);
	if (found)
		hvt_log(level, "the %s was damaged: %" PRIu64 " damaged stretch%s (%" PRIu64 " bytes) set aside in "
			"%s/damaged; %" PRIu64 " record%s lost (%s); every intact record is kept", sp->name, found,
			found == 1 ? "" : "es", bytes, sp->dir, lost, lost == 1 ? "" : "s", fate);
}

/* ---- verifying a segment ---------------------------------------------- */

struct verify_ctx {
	struct hvt_spool *sp;
	bool repair;
	FILE *out;
	int found;
};

static void append_hole(struct hvt_buf *keep, const struct hvt_spool_damage *d)
{
	char text[256];
	int n = snprintf(text, sizeof text, "lost=%" PRIu64 "..%" PRIu64 "%s why=%s", d->lost_first, d->lost_last,
			 d->lost_upper_bound ? " (at most)" : "", d->why);
	struct spool_rec_hdr h = { SPOOL_HOLE_MAGIC, (uint32_t)n, d->lost_last, 0, 0 };

	h.crc = spool_rec_crc(&h, text, NULL);
	hvt_buf_append(keep, &h, SPOOL_REC_HDR);
	hvt_buf_append(keep, text, (size_t)n);
}

/* One damage: reported (check), or set aside and recorded (repair). */
static void found_damage(struct verify_ctx *c, struct hvt_spool_damage *d, const void *bytes)
{
	char lost[96];

	c->found++;
	lost_words(d, lost, sizeof lost);
	if (c->repair) {
		if (d->bytes)
			spool_set_aside(c->sp, d, bytes, "a verification at open");
		if (add_damage(c->sp, d))
			log_damage(c->sp, d);
	}
	if (c->out)
		fprintf(c->out, "  damage at offset %" PRIu64 " (%" PRIu64 " bytes): %s; %s%s%s\n", d->offset, d->bytes,
			d->why, lost, c->repair && d->set_aside[0] ? "; set aside as " : "",
			c->repair ? d->set_aside : "");
}

/* Replace a segment's bytes with keep (its intact records and hole
 * records): a new file, synced, renamed over the old one. */
static int rewrite_segment(struct hvt_spool *sp, uint64_t first, const struct hvt_buf *keep)
{
	char *path = spool_seg_path(sp, first), *tmp = hvt_asprintf("%s.repair", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0 || hvt_write_all(fd, keep->data, keep->len) < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		hvt_log(LOG_ERR, "%s: cannot rewrite %s without its damage: %s", sp->name, path, strerror(-rc));
		unlink(tmp);
	} else {
		hvt_fsync_dir(sp->dir);
	}
	free(tmp);
	free(path);
	return rc;
}

/* Segment i: returns the last seq it holds (a hole record's too). */
static int verify_one(struct verify_ctx *c, int i, uint64_t *last_seq, char *err, size_t errsize)
{
	struct hvt_spool *sp = c->sp;
	bool last = i == sp->nsegs - 1;
	uint64_t first = sp->segs[i].first, limit = last ? 0 : sp->segs[i + 1].first;
	char *path = spool_seg_path(sp, first), *img = NULL;
	size_t size = 0;
	int rc = hvt_read_file(path, SEG_READ_MAX, &img, &size);
	struct hvt_buf keep = { 0 };
	bool rewrite = false;
	uint64_t cut_at = 0, records = 0;
	int found_before = c->found;

	*last_seq = first - 1;
	if (rc < 0) {
		/* unreadable: nothing in it can be saved; keep it out of the way */
		struct hvt_spool_damage d = { .lost_first = first, .lost_last = last ? 0 : limit - 1, .segment = first };
		snprintf(d.why, sizeof d.why, "cannot read the segment: %s", strerror(-rc));
		if (last) {
			struct stat st;
			d.lost_last = first + (stat(path, &st) == 0 ? (uint64_t)st.st_size / SPOOL_REC_HDR : 0);
			d.lost_upper_bound = true;
		}
		if (c->out)
			fprintf(c->out, "%016" PRIx64 ".seg: unreadable\n", first);
		found_damage(c, &d, NULL);
		if (c->repair) {
			char *aside = hvt_asprintf("%s/damaged/%016" PRIx64 ".unreadable", sp->dir, first);
			char *ddir = hvt_asprintf("%s/damaged", sp->dir);
			hvt_mkdir_p(ddir, 0700);
			free(ddir);
			if (rename(path, aside) < 0 && unlink(path) < 0) {
				snprintf(err, errsize, "%s cannot be read (%s) nor moved aside: %s", path,
					 strerror(-rc), strerror(errno));
				free(aside);
				free(path);
				return -1;
			}
			free(aside);
			/* the writer needs a segment to append to: start one past it */
			if (last) {
				char *np = spool_seg_path(sp, d.lost_last + 1);
				int fd = open(np, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
				if (fd >= 0)
					close(fd);
				free(np);
				sp->total_bytes -= HVT_MIN(sp->total_bytes, sp->segs[i].bytes);
				sp->segs[i].first = d.lost_last + 1;
				sp->segs[i].bytes = 0;
				*last_seq = d.lost_last;
			} else {
				sp->total_bytes -= HVT_MIN(sp->total_bytes, sp->segs[i].bytes);
				memmove(sp->segs + i, sp->segs + i + 1, sizeof(struct spool_seg) * (size_t)(sp->nsegs - i - 1));
				sp->nsegs--;
			}
		}
		free(path);
		return 1;
	}
	struct spool_scan s;
	struct spool_scan_item it;
	spool_scan_init(&s, img, size, 0, first, limit);
	for (;;) {
		enum spool_scan_kind k = spool_scan_next(&s, &it);
		if (k == SCAN_END)
			break;
		if (k == SCAN_REC) {
			hvt_buf_append(&keep, img + it.off, (size_t)it.len);
			*last_seq = it.h.seq;
			if (it.h.magic == SPOOL_REC_MAGIC)
				records++;
			continue;
		}
		if (k == SCAN_TORN && last) {
			/* an interrupted write: never committed, never promised */
			cut_at = it.off;
			if (c->repair)
				hvt_log(LOG_WARNING, "%s: cut %" PRIu64 " bytes after record %" PRIu64 " in %s: %s (left by an "
					"unclean stop); nothing after the last intact record is replayed", sp->name, it.len,
					*last_seq, path, it.why);
			if (c->out)
				fprintf(c->out, "  an interrupted last record at offset %" PRIu64 " (%" PRIu64 " bytes): %s%s\n",
					it.off, it.len, it.why, c->repair ? "; cut" : "; a start cuts it");
			sp->cut_bytes += it.len;
			continue;
		}
		struct hvt_spool_damage d = { .lost_first = it.lost_first, .lost_last = it.lost_last,
					      .segment = first, .offset = it.off, .bytes = it.len };
		hvt_strlcpy(d.why, it.why, sizeof d.why);
		if (last && !d.lost_last && d.lost_first) {
			/* damage to the end of the newest segment: how many records
			 * it held is unknown; none can be smaller than a header */
			d.lost_last = d.lost_first + it.len / SPOOL_REC_HDR;
			d.lost_upper_bound = true;
		}
		found_damage(c, &d, img + it.off);
		if (spool_damage_lost(&d)) {
			append_hole(&keep, &d);
			*last_seq = d.lost_last;
		}
		rewrite = true;
	}
	/* seqs before the next segment that no record holds (truncated at a
	 * record boundary, or a segment file missing in between) */
	if (!last && *last_seq + 1 < limit) {
		struct hvt_spool_damage d = { .lost_first = HVT_MAX(*last_seq + 1, sp->acked + 1), .lost_last = limit - 1,
					      .segment = first, .offset = size };
		if (d.lost_first <= d.lost_last) {
			hvt_strlcpy(d.why, "the segment ends early (truncated, or the next segment is missing)",
				    sizeof d.why);
			found_damage(c, &d, NULL);
			append_hole(&keep, &d);
			rewrite = true;
		}
		*last_seq = limit - 1;
	}
	if (c->out)
		fprintf(c->out, "%016" PRIx64 ".seg: %" PRIu64 " records, %zu bytes%s%s\n", first, records, size,
			!last && limit - 1 <= sp->acked ? " (acknowledged)" : "",
			c->found > found_before ? ": DAMAGED" : cut_at ? ": interrupted last record" : ": ok");
	if (c->repair && rewrite) {
		if (rewrite_segment(sp, first, &keep) == 0) {
			sp->total_bytes -= HVT_MIN(sp->total_bytes, size);
			sp->total_bytes += keep.len;
			sp->segs[i].bytes = keep.len;
		}
	} else if (c->repair && cut_at) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)cut_at) < 0) {
			snprintf(err, errsize, "cannot truncate %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(img);
			free(path);
			hvt_buf_free(&keep);
			return -1;
		}
		close(fd);
		sp->total_bytes -= HVT_MIN(sp->total_bytes, size - cut_at);
		sp->segs[i].bytes = cut_at;
	}
	free(img);
	free(path);
	hvt_buf_free(&keep);
	return c->found > found_before;
}

int spool_verify_segments(struct hvt_spool *sp, bool repair, FILE *out, char *err, size_t errsize)
{
	struct verify_ctx c = { sp, repair, out, 0 };
	uint64_t last_seq = 0;

	for (int i = 0; i < sp->nsegs; i++) {
		int n = sp->nsegs;
		if (verify_one(&c, i, &last_seq, err, errsize) < 0)
			return -1;
		if (sp->nsegs < n)
			i--;              /* an unreadable segment left the list */
	}
	if (sp->nsegs)
		sp->next_seq = HVT_MAX(last_seq + 1, sp->segs[sp->nsegs - 1].first);
	return c.found;
}

/* ---- the check tool ---------------------------------------------------- */

int hvt_spool_check(const struct hvt_spool_opts *o, bool repair, FILE *out, char *err, size_t errsize)
{
	struct stat st;

	if (stat(o->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "there is no %s at %s", o->name ? o->name : "spool", o->dir);
		return -1;
	}
	if (repair) {
		/* opening repairs; what it found is in the damage list */
		struct hvt_spool *sp = hvt_spool_open(o, err, errsize);
		if (!sp)
			return -1;
		struct hvt_spool_damage *v;
		size_t n;
		hvt_spool_take_damage(sp, &v, &n);
		for (size_t i = 0; i < n; i++) {
			char lost[96], where[64] = "no segment";
			lost_words(&v[i], lost, sizeof lost);
			if (v[i].segment)
				snprintf(where, sizeof where, "segment %016" PRIx64 ".seg offset %" PRIu64, v[i].segment,
					 v[i].offset);
			fprintf(out, "repaired (%s): %s; %s%s%s\n", where, v[i].why, lost,
				v[i].set_aside[0] ? "; set aside as " : "", v[i].set_aside);
		}
		fprintf(out, "%s %s: %zu damage%s set aside; %" PRIu64 " bytes of an interrupted last record cut; "
			"records %" PRIu64 "..%" PRIu64 " spooled, %" PRIu64 " acknowledged\n", o->name ? o->name : "spool",
			o->dir, n, n == 1 ? "" : "s", hvt_spool_recovered_cut_bytes(sp), hvt_spool_first_seq(sp),
			hvt_spool_last_seq(sp), hvt_spool_acked(sp));
		free(v);
		hvt_spool_close(sp);
		return 0;
	}
	struct hvt_spool *sp = hvt_calloc(1, sizeof *sp);
	sp->o = *o;
	sp->dir = hvt_strdup(o->dir);
	sp->name = hvt_strdup(o->name ? o->name : "spool");
	pthread_mutex_init(&sp->lock, NULL);
	int rc = spool_list_segments(sp);
	if (rc < 0) {
		snprintf(err, errsize, "cannot list %s: %s", sp->dir, strerror(-rc));
	} else {
		char *meta = hvt_asprintf("%s/meta", sp->dir), *text = NULL;
		if (hvt_read_file(meta, 4096, &text, NULL) < 0 || !strstr(text, "id=")) {
			fprintf(out, "%s: missing or damaged (a start restores it from the checkpoint if it can)\n", meta);
			rc = 1;
		}
		free(text);
		free(meta);
		spool_load_checkpoint(sp);
		fprintf(out, "%s %s: %d segment%s, acknowledged up to record %" PRIu64 "\n", sp->name, sp->dir,
			sp->nsegs, sp->nsegs == 1 ? "" : "s", sp->acked);
		int found = spool_verify_segments(sp, false, out, err, errsize);
		if (found < 0) {
			rc = -1;
		} else {
			if (found)
				fprintf(out, "%d damage%s found: a start (or --repair) sets %s aside and keeps every intact "
					"record\n", found, found == 1 ? "" : "s", found == 1 ? "it" : "them");
			else
				fprintf(out, "every record is intact\n");
			if (found)
				rc = 1;
		}
	}
	pthread_mutex_destroy(&sp->lock);
	free(sp->segs);
	free(sp->damage);
	free(sp->dir);
	free(sp->name);
	free(sp);
	return rc;
}
