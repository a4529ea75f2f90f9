/* fuzz_event.c - libFuzzer harness for the event decoder
 * (hvt_event_from_json, lib/event.c), which reads JSON from the network at
 * the collector and from local tools at the forwarder.
 *
 * Input: byte 0 picks the limits (depth 2..33, field 16..271 bytes) and
 * whether identity fields are required; the rest is the JSON text.
 * Checked beyond "no crash, no leak, no UB": an accepted event serialises
 * to valid UTF-8 JSON that decodes again to the same fields (what the
 * forwarder spools is what the collector reads). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same(const struct hvt_event *a, const struct hvt_event *b)
{
	if (!str_eq(a->host, b->host) || !str_eq(a->stream, b->stream) || !str_eq(a->id, b->id) ||
	    !str_eq(a->prev, b->prev) || !str_eq(a->source, b->source) || !str_eq(a->type, b->type) ||
	    !str_eq(a->vm_name, b->vm_name) || !str_eq(a->vm_uuid, b->vm_uuid) || !str_eq(a->msg, b->msg) ||
	    a->seq != b->seq || a->severity != b->severity || a->ts_us != b->ts_us ||
	    a->received_us != b->received_us || a->flags != b->flags ||
	    !json_object_equal(a->data, b->data))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	char err[256];

	if (!once++)
		hvt_log_set_level(LOG_EMERG);
	if (size < 1)
		return 0;
	struct hvt_event_limits lim = {
		.max_json = 64 * 1024,
		.max_depth = 2 + (data[0] & 31),
		.max_field = 16 + (size_t)(data[0] >> 5) * 32,
		.max_msg = 4096,
	};
	bool identity = data[0] & 1;
	struct hvt_event *ev = hvt_event_from_json((const char *)data + 1, size - 1, &lim, identity, err, sizeof err);

	if (!ev) {
		if (!err[0] || strlen(err) >= sizeof err)
			abort();      /* a refusal always says why */
		return 0;
	}
	struct hvt_buf out = { 0 };
	hvt_event_to_json(ev, &out);
	if (!hvt_utf8_valid(out.data, out.len))
		abort();
	/* the serialised form may be longer (json-c writes numbers its own way) */
	struct hvt_event_limits relaxed = lim;
	relaxed.max_json = 4 * out.len + 64;
	struct hvt_event *back = hvt_event_from_json(out.data, out.len, &relaxed, false, err, sizeof err);
	if (!back)
		abort();
	same(ev, back);
	hvt_event_free(back);
	hvt_event_free(ev);
	hvt_buf_free(&out);
	return 0;
}
