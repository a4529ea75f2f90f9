/* alert_silence.c - see alert_silence.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_page.h"
#include "alert_silence.h"
#include "event.h"
#include "util.h"

static const char *const matcher_names[] = { "rule", "host", "vm", "type" };

static bool glob_any(const char *glob, json_object *list)
{
	for (size_t i = 0; list && json_object_is_type(list, json_type_array) && i < json_object_array_length(list);
	     i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(list, i));
		if (h && hvt_glob_match(glob, h))
			return true;
	}
	return false;
}

static bool one_matches(const char *name, const char *glob, json_object *page, json_object *member)
{
	json_object *hosts;

	if (strcmp(name, "rule") == 0)
		return page_str(page, "rule") && hvt_glob_match(glob, page_str(page, "rule"));
	if (strcmp(name, "host") == 0)
		return (page_str(member, "host") && hvt_glob_match(glob, page_str(member, "host"))) ||
		       (json_object_object_get_ex(member, "hosts", &hosts) && glob_any(glob, hosts));
	if (strcmp(name, "vm") == 0)
		return (page_str(member, "vm") && hvt_glob_match(glob, page_str(member, "vm"))) ||
		       (page_str(member, "vm_uuid") && hvt_glob_match(glob, page_str(member, "vm_uuid")));
	if (strcmp(name, "type") == 0)
		return page_str(member, "type") && hvt_glob_match(glob, page_str(member, "type"));
	return false;
}

bool silence_matches(json_object *silence, json_object *page, json_object *member)
{
	json_object *m;
	int n = 0;

	if (!json_object_object_get_ex(silence, "matchers", &m) || !json_object_is_type(m, json_type_object))
		return false;
	json_object_object_foreach(m, name, v) {
		const char *glob = json_object_get_string(v);
		if (!glob || !one_matches(name, glob, page, member))
			return false;
		n++;
	}
	return n > 0;      /* a silence without matchers would mute everything: never */
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !hvt_utf8_valid(s, n))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static long long int_of(json_object *o, const char *key, bool *present)
{
	json_object *v;

	*present = json_object_object_get_ex(o, key, &v) && v;
	return *present && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

json_object *silence_from_request(json_object *req, const char *id, json_object *by, long long now_us, char *err,
				  size_t errsize)
{
	json_object *m, *matchers = json_object_new_object(), *v;
	const char *reason = NULL, *author = NULL;
	long long starts, ends, dur;
	bool has_starts, has_ends, has_dur;

	if (!json_object_object_get_ex(req, "matchers", &m) || !json_object_is_type(m, json_type_object)) {
		snprintf(err, errsize, "a silence needs matchers (--vm, --host, --rule or --type)");
		goto bad;
	}
	json_object_object_foreach(m, name, val) {
		bool known = false;
		for (size_t i = 0; i < HVT_ARRAY_SIZE(matcher_names); i++)
			known |= strcmp(name, matcher_names[i]) == 0;
		const char *glob = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
		if (!known || !glob || !text_ok(glob, SILENCE_MATCHER_MAX)) {
			snprintf(err, errsize, "matcher '%.40s' is not one of rule, host, vm, type with a glob of 1 to %d "
				 "printable characters", name, SILENCE_MATCHER_MAX);
			goto bad;
		}
		json_object_object_add(matchers, name, json_object_new_string(glob));
	}
	if (!json_object_object_length(matchers)) {
		snprintf(err, errsize, "a silence needs at least one matcher (--vm, --host, --rule or --type)");
		goto bad;
	}
	if (json_object_object_get_ex(req, "reason", &v) && json_object_is_type(v, json_type_string))
		reason = json_object_get_string(v);
	if (!reason || !text_ok(reason, SILENCE_REASON_MAX)) {
		snprintf(err, errsize, "a silence needs a reason: one line of up to %d characters", SILENCE_REASON_MAX);
		goto bad;
	}
	if (json_object_object_get_ex(req, "author", &v) && json_object_is_type(v, json_type_string)) {
		author = json_object_get_string(v);
		if (!text_ok(author, 200)) {
			snprintf(err, errsize, "author: one line of up to 200 characters");
			goto bad;
		}
	}
	starts = int_of(req, "starts", &has_starts);
	ends = int_of(req, "ends", &has_ends);
	dur = int_of(req, "duration_s", &has_dur);
	if (!has_starts || starts < now_us)
		starts = now_us;          /* a start in the past is now: no silence acts backwards */
	if (has_dur && dur > 0 && dur <= SILENCE_MAX_US / 1000000 && !has_ends)
		ends = starts + dur * 1000000;
	if (ends <= starts || ends - starts > SILENCE_MAX_US || ends - now_us > 2 * SILENCE_MAX_US) {
		snprintf(err, errsize, "a silence needs an end after its start, at most 366 days later (--for or --until)");
		goto bad;
	}
	json_object *s = json_object_new_object();
	json_object_object_add(s, "id", json_object_new_string(id));
	json_object_object_add(s, "matchers", matchers);
	json_object_object_add(s, "starts", json_object_new_int64(starts));
	json_object_object_add(s, "ends", json_object_new_int64(ends));
	json_object_object_add(s, "created", json_object_new_int64(now_us));
	json_object_object_add(s, "reason", json_object_new_string(reason));
	json_object_object_add(s, "author", author ? json_object_new_string(author) : NULL);
	json_object_object_add(s, "by", by);
	return s;
bad:
	json_object_put(matchers);
	json_object_put(by);
	return NULL;
}

char *silence_matchers_text(json_object *silence)
{
	json_object *m;
	struct hvt_buf b = { 0 };

	if (json_object_object_get_ex(silence, "matchers", &m) && json_object_is_type(m, json_type_object)) {
		json_object_object_foreach(m, name, v)
			hvt_buf_printf(&b, "%s%s=%s", b.len ? " " : "", name, json_object_get_string(v));
	}
	if (!b.data)
		hvt_buf_append_str(&b, "");
	return b.data;
}
