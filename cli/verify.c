/* verify.c - see verify.h.
 *
 * The chain: each event's prev is the SHA-256 of the JSON of the event
 * before it; a seal signs (seq, hash) of one event, and through the prev
 * links everything before it.  Walking the rows in seq order:
 *  - a row whose JSON names another seq is out of place (reordered) when
 *    the event that belongs there is elsewhere, else edited; one naming
 *    another host or stream was edited;
 *  - a hole in seq, or a first row that is not the stream's start (prev
 *    ""), is a deletion;
 *  - a broken link is classified by the neighbours: a prev that matches
 *    the hash of another row means rows were reordered; a row whose own
 *    hash no longer matches what its successor (or a seal) recorded was
 *    edited;
 *  - a seal that does not verify was made with the wrong key;
 *  - rows after a final seal that no later seal covers were injected;
 *  - a hole the forwarder itself recorded - a spool.dropped (full_policy =
 *    drop-oldest) or spool.damaged event after it naming its seqs - is not
 *    a deletion, provided a valid seal covers that statement: the statement
 *    is chained and signed like any event, so an admin who deletes rows
 *    cannot forge one.  An unsealed statement explains nothing yet (it
 *    could have been written into the index with the deletion).  Such a
 *    hole makes the result V_DROPPED/V_LOST only when nothing worse is
 *    found: the stream is incomplete, by the forwarder's own account. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "trail.h"
#include "util.h"
#include "verify.h"

const char *verify_kind_name(enum verify_kind k)
{
	switch (k) {
	case V_OK: return "verified";
	case V_EDITED: return "edited";
	case V_DELETED: return "deleted";
	case V_REORDERED: return "reordered";
	case V_INJECTED: return "injected";
	case V_WRONG_KEY: return "signed by the wrong key";
	case V_UNSEALED: return "not yet sealed";
	case V_DROPPED: return "dropped by policy";
	case V_LOST: return "lost to spool damage";
	}
	return "?";
}

/* A hole in seq (from..to) met while walking the rows; judged once the
 * seals are known. */
struct hole {
	uint64_t from, to;
	const struct v_row *after;    /* the first row after it */
};

struct walk {
	const struct v_row *rows;
	size_t n;
	long long since, until;
	struct v_result *res;
	bool explain;                 /* collect holes for judge_holes */
	struct hole *holes;
	size_t nholes;
};

static bool in_range(const struct walk *w, long long ts)
{
	return (!w->since || ts >= w->since) && (!w->until || ts <= w->until);
}

/* Record the first problem (in seq order) inside the time range. */
static void found(struct walk *w, enum verify_kind k, const struct v_row *r, uint64_t seq, const char *detail)
{
	struct v_result *res = w->res;

	if (r && !in_range(w, r->ts_us))
		return;
	if (res->kind != V_OK && res->seq <= seq)
		return;
	res->kind = k;
	res->seq = seq;
	snprintf(res->id, sizeof res->id, "%s", r ? r->id : "");
	hvt_strlcpy(res->detail, detail, sizeof res->detail);
}

/* The row whose hash is h, other than skip; SIZE_MAX if none. */
static size_t row_with_hash(const struct walk *w, const char *h, size_t skip)
{
	for (size_t i = 0; i < w->n; i++)
		if (i != skip && strcmp(w->rows[i].hash, h) == 0)
			return i;
	return SIZE_MAX;
}

static bool json_seq_stored(const struct walk *w, uint64_t seq, size_t skip)
{
	for (size_t i = 0; i < w->n; i++)
		if (i != skip && w->rows[i].json_seq == seq)
			return true;
	return false;
}

static void broken_link(struct walk *w, size_t i)
{
	const struct v_row *r = &w->rows[i], *p = &w->rows[i - 1];
	char buf[64];

	if (row_with_hash(w, r->prev, i - 1) != SIZE_MAX) {
		found(w, V_REORDERED, r, r->seq, "its prev is the hash of another event of the stream");
		return;
	}
	bool prev_links_back = i < 2 || strcmp(p->prev, w->rows[i - 2].hash) == 0 || p->seq != w->rows[i - 2].seq + 1;
	bool next_links = i + 1 < w->n && strcmp(w->rows[i + 1].prev, r->hash) == 0;
	if (prev_links_back && (next_links || i + 1 == w->n)) {
		snprintf(buf, sizeof buf, "%" PRIu64, r->seq);
		{
		char d[128];
		snprintf(d, sizeof d, "its content no longer matches the hash that event %s recorded", buf);
		found(w, V_EDITED, p, p->seq, d);
	}
	} else {
		found(w, V_EDITED, r, r->seq, "it does not chain to the event before it");
	}
}

/* The id of the missing event seq, from the stream of the row after it. */
static void missing_id(const struct v_row *after, uint64_t seq, char *id, size_t size)
{
	char stream[sizeof after->id];
	size_t slen = 0;
	uint64_t s;

	if (!hvt_event_id_split(after->id, &slen, &s))
		slen = 0;
	memcpy(stream, after->id, slen);
	stream[slen] = '\0';
	hvt_event_id_format(id, size, stream, seq);
}

/* Events from..to are missing and nothing explains it: a deletion, named
 * by the first missing event. */
static void missing(struct walk *w, uint64_t from, uint64_t to, const struct v_row *after, const char *why)
{
	struct v_row gone = *after;
	char d[400];

	missing_id(after, from, gone.id, sizeof gone.id);
	snprintf(d, sizeof d, "events %" PRIu64 "..%" PRIu64 " are missing%s", from, to, why);
	found(w, V_DELETED, &gone, from, d);
}

static void add_hole(struct walk *w, uint64_t from, uint64_t to, const struct v_row *after)
{
	w->holes = hvt_realloc(w->holes, (w->nholes + 1) * sizeof *w->holes);
	w->holes[w->nholes++] = (struct hole){ from, to, after };
}

/* The forwarder's statement, at or after the hole, that covers seq; NULL if
 * none.  The statement must come after what it names (it is written when
 * the events go), and only one a valid seal covers counts. */
static const struct v_row *statement_for(const struct walk *w, uint64_t seq, bool sealed)
{
	const struct v_row *best = NULL;

	for (size_t i = 0; i < w->n; i++) {
		const struct v_row *r = &w->rows[i];
		if (!r->hole_kind || r->seq <= seq || seq < r->hole_from || seq > r->hole_to)
			continue;
		if (sealed && r->seq > w->res->sealed_upto)
			continue;
		if (!best || r->hole_to > best->hole_to)
			best = r;
	}
	return best;
}

/* Each hole, now that the seals are known: explained by sealed statements
 * from end to end, or a deletion. */
static void judge_holes(struct walk *w)
{
	struct v_result *res = w->res;
	const struct v_row *first_by = NULL;
	uint64_t first_from = 0, first_to = 0;
	enum verify_kind first_kind = V_OK;
	char why[200];

	for (size_t h = 0; h < w->nholes; h++) {
		const struct hole *x = &w->holes[h];
		uint64_t at = x->from;
		enum verify_kind kind = V_LOST;
		const struct v_row *by = NULL;
		while (at <= x->to && (by = statement_for(w, at, true)) != NULL) {
			if (by->hole_kind == V_DROPPED)
				kind = V_DROPPED;
			at = by->hole_to + 1;
		}
		if (at <= x->to) {
			const struct v_row *unsealed = statement_for(w, at, false);
			why[0] = '\0';
			if (unsealed)
				snprintf(why, sizeof why, "; event %" PRIu64 " (%s) says they were %s, but no seal covers "
					 "that statement yet", unsealed->seq, unsealed->hole_kind == V_DROPPED ?
					 "spool.dropped" : "spool.damaged", verify_kind_name(unsealed->hole_kind));
			missing(w, x->from, x->to, x->after, why);
			continue;
		}
		if (x->after && !in_range(w, x->after->ts_us))
			continue;
		res->holes++;
		res->holes_events += x->to - x->from + 1;
		if (!first_by) {
			first_by = statement_for(w, x->from, true);
			first_from = x->from;
			first_to = x->to;
			first_kind = kind;
		}
	}
	if (res->kind != V_OK || !first_by)
		return;
	res->kind = first_kind;
	res->seq = first_from;
	missing_id(first_by, first_from, res->id, sizeof res->id);
	snprintf(res->detail, sizeof res->detail, "events %" PRIu64 "..%" PRIu64 " %s, as the forwarder's sealed "
		 "%s event %" PRIu64 " records%s", first_from, first_to,
		 first_kind == V_DROPPED ? "were dropped by policy (full_policy = drop-oldest)" :
		 "were lost to spool damage", first_kind == V_DROPPED ? "spool.dropped" : "spool.damaged",
		 first_by->seq, res->holes > 1 ? " (and more holes it explains; see --output json)" : "");
}

static void walk_rows(struct walk *w)
{
	char buf[64], d[200];

	for (size_t i = 0; i < w->n; i++) {
		const struct v_row *r = &w->rows[i];
		if (!r->consistent) {
			found(w, V_EDITED, r, r->seq, "its JSON names another host or stream");
			continue;
		}
		if (r->json_seq != r->seq) {
			snprintf(buf, sizeof buf, "%" PRIu64, r->json_seq);
			if (json_seq_stored(w, r->seq, i))
				found(w, V_REORDERED, r, r->seq, (snprintf(d, sizeof d, "the event stored here is event %s, "
				      "whose place is elsewhere", buf), d));
			else
				found(w, V_EDITED, r, r->seq, (snprintf(d, sizeof d, "its JSON says it is event %s", buf), d));
			continue;
		}
		if (i == 0) {
			if (r->seq > 1 && w->explain) {
				add_hole(w, 1, r->seq - 1, r);
			} else if (r->seq != 1 || r->prev[0]) {
				snprintf(buf, sizeof buf, "%" PRIu64, r->seq);
				found(w, V_DELETED, r, r->seq > 1 ? 1 : r->seq,
				      (snprintf(d, sizeof d, "the stream does not start with event 1 (the first stored is %s)", buf), d));
			}
			continue;
		}
		const struct v_row *p = &w->rows[i - 1];
		if (r->seq != p->seq + 1) {
			if (w->explain)
				add_hole(w, p->seq + 1, r->seq - 1, r);
			else
				missing(w, p->seq + 1, r->seq - 1, r, "");
			continue;
		}
		if (strcmp(r->prev, p->hash) != 0)
			broken_link(w, i);
	}
}

static const struct v_row *row_at(const struct walk *w, uint64_t seq)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->rows[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->n && w->rows[lo].seq == seq ? &w->rows[lo] : NULL;
}

static void walk_seals(struct walk *w, const struct v_seal *seals, size_t nseals)
{
	char buf[32], d[400];
	uint64_t final_at = 0;

	for (size_t i = 0; i < nseals; i++) {
		const struct v_seal *s = &seals[i];
		const struct v_row *r = s->seq ? row_at(w, s->seq) : NULL;
		if (!s->valid) {
			snprintf(d, sizeof d, "the seal over event %" PRIu64 ": %.300s", s->seq, s->why);
			found(w, V_WRONG_KEY, r, s->seq, d);
			continue;
		}
		if (s->seq && !r) {
			snprintf(buf, sizeof buf, "%" PRIu64, s->seq);
			found(w, V_DELETED, NULL, s->seq, (snprintf(d, sizeof d, "event %s, which a seal covers, is gone", buf), d));
			continue;
		}
		if (r && strcmp(r->hash, s->hash) != 0) {
			found(w, V_EDITED, r, r->seq, "its content no longer matches the signed seal over it");
			continue;
		}
		if (s->seq > w->res->sealed_upto)
			w->res->sealed_upto = s->seq;
		if (s->final && s->seq > final_at)
			final_at = s->seq;
	}
	/* rows after the last seal: pending while the forwarder runs; after a
	 * final seal nothing may follow that no seal covers */
	uint64_t upto = w->res->sealed_upto;
	for (size_t i = 0; i < w->n; i++) {
		const struct v_row *r = &w->rows[i];
		if (r->seq <= upto)
			continue;
		if (final_at && final_at == upto) {
			snprintf(buf, sizeof buf, "%" PRIu64, final_at);
			found(w, V_INJECTED, r, r->seq, (snprintf(d, sizeof d, "it follows the final seal (event %s) and no seal covers it", buf), d));
		} else if (!upto && nseals == 0) {
			found(w, V_INJECTED, r, r->seq, "no seal covers any event of this stream");
		}
		if (!w->res->unsealed_from)
			w->res->unsealed_from = r->seq;
		w->res->unsealed_to = r->seq;
	}
}

void verify_stream(const struct v_row *rows, size_t n, const struct v_seal *seals, size_t nseals,
		   long long since_us, long long until_us, struct v_result *res)
{
	struct walk w = { rows, n, since_us, until_us, res, true, NULL, 0 };

	memset(res, 0, sizeof *res);
	walk_rows(&w);
	walk_seals(&w, seals, nseals);
	judge_holes(&w);
	free(w.holes);
}

void verify_chain(const struct v_row *rows, size_t n, long long since_us, long long until_us,
		  struct v_result *res)
{
	struct walk w = { rows, n, since_us, until_us, res, false, NULL, 0 };

	memset(res, 0, sizeof *res);
	walk_rows(&w);
}
