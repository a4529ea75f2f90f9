/* lv_persist.c - the view across restarts of the forwarder, exactly once.
 *
 * STATE_DIR/<instance>/view.json (mode 0600, written atomically) holds the
 * mapping's view (lv_map.h: what the trail says about each domain) and the
 * spool position it was taken at: {"spool": ID, "seq": N, "view": {...}}.
 * It is written from the forwarder's committed callback only, when every
 * event emitted so far is in the spool, so it never runs ahead of the trail.
 *
 * It can run behind: the forwarder may be killed (SIGKILL, a crash, power)
 * after events were spooled and before the next save.  Those events are in
 * the spool (with fsync = never they survive a killed process in the page
 * cache; a power loss takes the spool's unsynced tail with them, and
 * then they were never in the trail).  So at start the plugin reads the
 * spool after N and moves the view by every event of its own it finds
 * there (source "libvirt", data.uri its URI) exactly as when it was sent:
 * the view is then what the trail holds, and the resync reports only what
 * the trail does not.  A view with no file (first start, or the file lost)
 * replays the whole spool.  Records already acknowledged and deleted before
 * N are in the view; records after N are never acknowledged before the
 * next save in the same loop iteration (fsync never/always) or within one
 * fsync_interval, so they are there to replay unless the spool dropped them
 * (full_policy drop-oldest), which the log then says. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "in_libvirt.h"
#include "rfc5424.h"
#include "spool.h"

#define VIEW_MAX_BYTES (64u << 20)

static const struct hvt_event_limits spooled_limits = {
	.max_json = 16u << 20, .max_depth = 64, .max_field = 4096, .max_msg = 65536,
};

static bool ours(const struct lv_input *in, const struct hvt_event *ev)
{
	json_object *u;

	return ev->source && strcmp(ev->source, "libvirt") == 0 && ev->data &&
	       json_object_object_get_ex(ev->data, "uri", &u) &&
	       strcmp(json_object_get_string(u), in->uri) == 0;
}

/* Move the view by this input's events in the spool after seq `after`. */
static void replay(struct lv_input *in, struct hvt_spool *sp, uint64_t after, bool have_view)
{
	struct hvt_spool_reader *r = hvt_spool_reader_new(sp, after + 1);
	struct hvt_spool_rec rec;
	uint64_t n = 0, mine = 0, first = 0;
	char err[128];
	int rc;

	while ((rc = hvt_spool_reader_next(r, &rec)) == 1) {
		struct hvt_syslog_msg m;
		const char *json;
		size_t jlen;
		if (!first)
			first = rec.seq;
		n++;
		if (hvt_syslog_parse(rec.data, rec.len, &m, err, sizeof err) < 0 ||
		    !hvt_syslog_is_event(&m, &json, &jlen))
			continue;
		/* cheap test before decoding: most records are other inputs' */
		if (!memmem(json, jlen, "\"libvirt\"", 9))
			continue;
		struct hvt_event *ev = hvt_event_from_json(json, jlen, &spooled_limits, false, err,
							   sizeof err);
		if (ev && ev->type && ours(in, ev)) {
			lv_map_replay(in->map, ev);
			mine++;
		}
		hvt_event_free(ev);
	}
	hvt_spool_reader_free(r);
	if (rc < 0)
		hvt_warn("[%s] cannot read the spool after event %" PRIu64 ": %s; changes spooled "
			 "since may be reported again (late)", in->inst->name, after, strerror(-rc));
	if (have_view && first > after + 1)
		hvt_warn("[%s] the spool no longer holds events %" PRIu64 "-%" PRIu64 " (dropped): "
			 "changes among them may be reported again (late)", in->inst->name, after + 1,
			 first - 1);
	if (mine)
		hvt_notice("[%s] the forwarder stopped before it saved what it had sent: %" PRIu64
			   " of its events found in the spool after event %" PRIu64 " are taken as sent",
			   in->inst->name, mine, after);
	hvt_debug("[%s] replayed %" PRIu64 " spool records after %" PRIu64 ", %" PRIu64 " ours",
		  in->inst->name, n, after, mine);
}

int lv_persist_load(struct lv_input *in)
{
	struct hvt_spool *sp = in->inst->host ? in->inst->host->spool : NULL;
	char *text = NULL, err[256];
	size_t len;
	uint64_t seq = 0;
	bool have_view = false, same_spool = false;
	int r;

	if (!in->state_dir)
		return 0;
	r = hvt_mkdir_p(in->state_dir, 0700);
	if (r < 0) {
		hvt_err("[%s] cannot create %s: %s", in->inst->name, in->state_dir, strerror(-r));
		return -1;
	}
	in->view_path = hvt_asprintf("%s/view.json", in->state_dir);
	r = hvt_read_file(in->view_path, VIEW_MAX_BYTES, &text, &len);
	if (r < 0 && r != -ENOENT) {
		hvt_err("[%s] cannot read %s: %s", in->inst->name, in->view_path, strerror(-r));
		return -1;
	}
	if (r == 0) {
		json_object *o = json_tokener_parse(text), *v;
		if (o && json_object_object_get_ex(o, "view", &v) && lv_map_load(in->map, v, err, sizeof err)) {
			have_view = true;
			if (json_object_object_get_ex(o, "seq", &v))
				seq = (uint64_t)json_object_get_int64(v);
			same_spool = sp && json_object_object_get_ex(o, "spool", &v) &&
				     strcmp(json_object_get_string(v), hvt_spool_id(sp)) == 0;
		} else {
			hvt_warn("[%s] %s holds no view this version reads: every domain is met as new "
				 "(reported late, once)", in->inst->name, in->view_path);
		}
		json_object_put(o);
	}
	free(text);
	/* a spool made since the view was saved holds only later events */
	if (sp)
		replay(in, sp, have_view && same_spool ? seq : 0, have_view && same_spool);
	return 0;
}

void lv_persist_save(struct lv_input *in)
{
	struct hvt_spool *sp = in->inst->host ? in->inst->host->spool : NULL;

	if (!in->view_path || !lv_map_dirty(in->map))
		return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "spool", json_object_new_string(sp ? hvt_spool_id(sp) : ""));
	json_object_object_add(o, "seq", json_object_new_int64(sp ? (int64_t)hvt_spool_last_seq(sp) : 0));
	json_object_object_add(o, "view", lv_map_save(in->map));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int r = hvt_write_file_atomic(in->view_path, text, strlen(text), 0600);
	if (r < 0) {
		lv_map_set_dirty(in->map);
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
		hvt_log_ratelimited(&rl, LOG_WARNING, "[%s] cannot save %s: %s (after a restart the "
				    "spool is read back instead)", in->inst->name, in->view_path,
				    strerror(-r));
	}
	json_object_put(o);
}
