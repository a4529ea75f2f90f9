/* rxstats.c - see rxstats.h. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "rxstats.h"

static uint64_t sum(const uint64_t *v, int n)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		t += v[i];
	return t;
}

bool rxstats_alarming_change(const struct rx_snapshot *now, const struct rx_snapshot *before)
{
	return memcmp(now->in.rejected, before->in.rejected, sizeof now->in.rejected) != 0 ||
	       memcmp(now->refused, before->refused, sizeof now->refused) != 0 ||
	       now->in.quarantined != before->in.quarantined;
}

bool rxstats_changed(const struct rx_snapshot *now, const struct rx_snapshot *before)
{
	return rxstats_alarming_change(now, before) || memcmp(&now->in, &before->in, sizeof now->in) != 0;
}

static void group(struct hvt_buf *b, const char *name, const char *const *keys, const uint64_t *v, int n)
{
	hvt_buf_printf(b, ",\"%s\":{", name);
	for (int i = 0; i < n; i++)
		hvt_buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", keys[i], v[i]);
	hvt_buf_append_str(b, "}");
}

void rxstats_json(const struct rx_snapshot *s, struct hvt_buf *b)
{
	hvt_buf_printf(b, "{\"frames\":%" PRIu64 ",\"messages\":%" PRIu64 ",\"events\":%" PRIu64
		       ",\"syslog_lines\":%" PRIu64 ",\"control\":%" PRIu64 ",\"seals\":%" PRIu64
		       ",\"quarantined\":%" PRIu64, s->in.frames, s->in.messages, s->in.events, s->in.syslog_lines,
		       s->in.control, s->in.seals, s->in.quarantined);
	group(b, "rejected", ingest_reject_keys, s->in.rejected, REJ_COUNT);
	group(b, "refused", refusal_keys, s->refused, RF_COUNT);
	hvt_buf_append_str(b, ",\"last_rejection\":");
	hvt_json_escape(b, s->last_rejection);
	hvt_buf_append_str(b, ",\"last_refusal\":");
	hvt_json_escape(b, s->last_refusal);
	hvt_buf_append_str(b, "}");
}

void rxstats_log(const struct rx_snapshot *s)
{
	struct hvt_buf b = { 0 };

	for (int i = 0; i < REJ_COUNT; i++)
		if (s->in.rejected[i])
			hvt_buf_printf(&b, "%s%s %" PRIu64, b.len ? ", " : "", ingest_reject_keys[i], s->in.rejected[i]);
	for (int i = 0; i < RF_COUNT; i++)
		if (s->refused[i])
			hvt_buf_printf(&b, "%s%s %" PRIu64, b.len ? ", " : "", refusal_keys[i], s->refused[i]);
	hvt_log(LOG_NOTICE, "since start: %" PRIu64 " frames, %" PRIu64 " events, %" PRIu64 " syslog lines; "
		"%" PRIu64 " messages rejected, %" PRIu64 " sessions refused or aborted%s%s%s",
		s->in.frames, s->in.events, s->in.syslog_lines, sum(s->in.rejected, REJ_COUNT),
		sum(s->refused, RF_COUNT), b.len ? " (" : "", b.len ? b.data : "", b.len ? ")" : "");
	hvt_buf_free(&b);
}
