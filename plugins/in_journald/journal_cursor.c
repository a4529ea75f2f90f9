/* journal_cursor.c - cursor file, resume and gap detection (see
 * journal_cursor.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_cursor.h"
#include "journal_read.h"
#include "timefmt.h"
#include "util.h"

int jd_cursor_parse(const char *cursor, struct jd_cursor_info *ci)
{
	const char *p = cursor;

	memset(ci, 0, sizeof *ci);
	while (*p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 2 && p[1] == '=') {
			char val[64];
			size_t vl = len - 2 < sizeof val - 1 ? len - 2 : sizeof val - 1;
			char *stop;
			memcpy(val, p + 2, vl);
			val[vl] = '\0';
			if (p[0] == 's' && vl == 32) {
				memcpy(ci->seqnum_id, val, 33);
			} else if (p[0] == 'i') {
				ci->seqnum = strtoull(val, &stop, 16);
				ci->has_seqnum = !*stop;
			} else if (p[0] == 't') {
				ci->realtime = strtoull(val, &stop, 16);
				ci->has_realtime = !*stop;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (!ci->seqnum_id[0])
		ci->has_seqnum = false;
	return ci->has_seqnum || ci->has_realtime ? 0 : -EINVAL;
}

bool jd_cursor_text_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JD_CURSOR_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

int jd_cursor_load(const char *path, char **cursor)
{
	char *text = NULL;
	size_t len;
	int r = hvt_read_file(path, JD_CURSOR_MAX + 2, &text, &len);

	*cursor = NULL;
	if (r < 0)
		return r == -EFBIG ? -EINVAL : r;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (!jd_cursor_text_valid(text) || strlen(text) != len) {
		free(text);
		return -EINVAL;
	}
	*cursor = text;
	return 0;
}

int jd_cursor_save(const char *path, const char *cursor)
{
	char *text = hvt_asprintf("%s\n", cursor);
	int r = hvt_write_file_atomic(path, text, strlen(text), 0600);

	free(text);
	return r;
}

void jd_gap_free(struct jd_gap *g)
{
	free(g->from_cursor);
	free(g->to_cursor);
	memset(g, 0, sizeof *g);
}

bool jd_gap_count(const struct jd_cursor_info *saved, const struct jd_cursor_info *first,
		  unsigned long long *lost)
{
	*lost = 0;
	if (!saved->has_seqnum || !first->has_seqnum || strcmp(saved->seqnum_id, first->seqnum_id) != 0)
		return false;
	/* Sequence numbers count every entry journald wrote (all sources, user
	 * journals too): those between the two are the entries lost. */
	if (first->seqnum > saved->seqnum + 1)
		*lost = first->seqnum - saved->seqnum - 1;
	return true;
}

const char *jd_resume_name(enum jd_resume r)
{
	switch (r) {
	case JD_RESUME_AFTER: return "found";
	case JD_RESUME_UNMATCHED: return "found but no longer matching";
	case JD_RESUME_GONE: return "removed, nothing unread with it";
	case JD_RESUME_GAP: return "removed with unread entries";
	case JD_RESUME_END: return "removed, nothing after it";
	default: return "not a valid cursor";
	}
}

/* Without matches, from the saved position: the first entry after it and
 * the first one of the saved entry's own sequence. */
static enum jd_resume probe(sd_journal *j, const char *cursor, struct jd_gap *gap)
{
	struct jd_cursor_info saved, first;
	uint64_t rt;
	char *c = NULL;

	jd_cursor_parse(cursor, &saved);
	if (sd_journal_next(j) <= 0)
		return JD_RESUME_END;
	if (sd_journal_test_cursor(j, cursor) > 0)
		return JD_RESUME_UNMATCHED;
	gap->from_cursor = hvt_strdup(cursor);
	gap->from_us = saved.has_realtime ? (long long)saved.realtime : 0;
	if (sd_journal_get_cursor(j, &gap->to_cursor) < 0)
		gap->to_cursor = NULL;
	if (sd_journal_get_realtime_usec(j, &rt) >= 0)
		gap->to_us = (long long)rt;
	memcpy(gap->seqnum_id, saved.seqnum_id, sizeof gap->seqnum_id);
	for (int i = 0; i < JD_GAP_SCAN; i++) {
		if (i && sd_journal_next(j) <= 0)
			break;
		if (sd_journal_get_cursor(j, &c) < 0)
			continue;
		int r = jd_cursor_parse(c, &first);
		free(c);
		if (r == 0 && first.has_seqnum && strcmp(first.seqnum_id, saved.seqnum_id) == 0) {
			gap->count_known = jd_gap_count(&saved, &first, &gap->lost);
			return gap->lost ? JD_RESUME_GAP : JD_RESUME_GONE;
		}
	}
	return JD_RESUME_GAP;           /* another sequence: the count is unknown */
}

enum jd_resume jd_cursor_resume(sd_journal *j, const char *cursor, char *const *matches, int nmatches,
				struct jd_gap *gap)
{
	char err[256];

	memset(gap, 0, sizeof *gap);
	if (sd_journal_seek_cursor(j, cursor) < 0) {
		sd_journal_seek_head(j);
		return JD_RESUME_INVALID;
	}
	/* After seek_cursor the read pointer is at the cursor's location: the
	 * first next() lands on that entry when it still exists (and matches). */
	if (sd_journal_next(j) > 0 && sd_journal_test_cursor(j, cursor) > 0)
		return JD_RESUME_AFTER;
	sd_journal_flush_matches(j);
	sd_journal_seek_cursor(j, cursor);
	enum jd_resume res = probe(j, cursor, gap);
	if (res != JD_RESUME_GAP)
		jd_gap_free(gap);
	jd_journal_add_matches(j, matches, nmatches, err, sizeof err);   /* accepted before */
	sd_journal_seek_cursor(j, cursor);
	return res;
}

static void gap_msg(struct hvt_event *ev, const struct jd_gap *g)
{
	char from[40] = "?", to[40] = "?";

	if (g->from_us)
		hvt_format_rfc3339(g->from_us, from, sizeof from);
	if (g->to_us)
		hvt_format_rfc3339(g->to_us, to, sizeof to);
	if (g->count_known)
		hvt_event_set_msg(ev, "journal entries were removed (vacuumed) before they were read: "
				  "%llu entries between %s and %s are lost (an upper bound: all sources "
				  "count, matching or not)", g->lost, from, to);
	else
		hvt_event_set_msg(ev, "journal entries were removed before they were read: an unknown "
				  "number of entries between %s and %s are lost (the journal's sequence "
				  "numbering changed)", from, to);
}

struct hvt_event *jd_gap_event(const struct jd_gap *g)
{
	struct hvt_event *ev = hvt_event_new("journal.gap");
	char ts[40];

	ev->severity = HVT_SEV_WARNING;
	ev->source = hvt_strdup("journald");
	ev->ts_us = g->to_us;
	gap_msg(ev, g);
	if (g->count_known)
		hvt_event_data_add(ev, "lost_entries", json_object_new_int64((int64_t)g->lost));
	else
		hvt_event_data_add(ev, "lost_entries", NULL);
	hvt_event_data_add(ev, "count", json_object_new_string(g->count_known ? "upper_bound" : "unknown"));
	hvt_event_data_add(ev, "count_note", json_object_new_string(g->count_known ?
		"journal sequence numbers between the last entry read and the oldest entry still on "
		"disk: every entry journald wrote in between counts, whether it matched this input "
		"or not, so at most this many matching entries were lost" :
		"the oldest entry still on disk belongs to another sequence numbering (the journal was "
		"replaced or reset), so the number lost cannot be counted; from/to bound the time"));
	if (g->seqnum_id[0])
		hvt_event_data_add(ev, "seqnum_id", json_object_new_string(g->seqnum_id));
	if (g->from_us) {
		hvt_format_rfc3339(g->from_us, ts, sizeof ts);
		hvt_event_data_add(ev, "from", json_object_new_string(ts));
	}
	if (g->to_us) {
		hvt_format_rfc3339(g->to_us, ts, sizeof ts);
		hvt_event_data_add(ev, "to", json_object_new_string(ts));
	}
	if (g->from_us && g->to_us >= g->from_us)
		hvt_event_data_add(ev, "span_s", json_object_new_double((double)(g->to_us - g->from_us) / 1e6));
	if (g->from_cursor)
		hvt_event_data_add(ev, "from_cursor", json_object_new_string(g->from_cursor));
	if (g->to_cursor)
		hvt_event_data_add(ev, "to_cursor", json_object_new_string(g->to_cursor));
	return ev;
}

int jd_pos_parse(const char *s, struct jd_pos *p)
{
	memset(p, 0, sizeof *p);
	if (!jd_cursor_text_valid(s))
		return -EINVAL;
	if (strncmp(s, "gap,", 4) != 0) {
		hvt_strlcpy(p->cursor, s, sizeof p->cursor);
		return 0;
	}
	const char *lost = s + 4, *to = strchr(lost, ','), *cur = to ? strchr(to + 1, ',') : NULL;
	if (!to || !cur || cur == to + 1 || !cur[1])
		return -EINVAL;
	if (lost[0] == '?' && lost + 1 == to) {
		p->lost_known = false;
	} else {
		char *end;
		p->lost = strtoull(lost, &end, 10);
		if (end != to || end == lost)
			return -EINVAL;
		p->lost_known = true;
	}
	size_t tl = (size_t)(cur - to - 1);
	memcpy(p->to, to + 1, tl);
	p->to[tl] = '\0';
	hvt_strlcpy(p->cursor, cur + 1, sizeof p->cursor);
	p->gap_reported = true;
	return 0;
}

char *jd_pos_after_gap(const char *cursor, const struct jd_gap *g)
{
	if (!g->to_cursor)
		return hvt_strdup(cursor);       /* nothing to recognise it by */
	if (g->count_known)
		return hvt_asprintf("gap,%llu,%s,%s", g->lost, g->to_cursor, cursor);
	return hvt_asprintf("gap,?,%s,%s", g->to_cursor, cursor);
}

bool jd_gap_since_reported(const struct jd_pos *p, struct jd_gap *g)
{
	struct jd_cursor_info to;

	if (!p->gap_reported)
		return true;
	if (g->to_cursor && strcmp(g->to_cursor, p->to) == 0)
		return false;                    /* the very gap reported before */
	/* more was vacuumed since: the entries from the old TO on went too */
	free(g->from_cursor);
	g->from_cursor = hvt_strdup(p->to);
	g->from_us = jd_cursor_parse(p->to, &to) == 0 && to.has_realtime ? (long long)to.realtime : 0;
	if (g->count_known && p->lost_known && g->lost >= p->lost)
		g->lost -= p->lost;
	else
		g->count_known = false;
	return true;
}
