/* trail.c - see trail.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rfc5424.h"
#include "spool.h"
#include "trail.h"
#include "util.h"

static const char hex_digits[] = "0123456789abcdef";

void hvt_stream_id_new(char out[HVT_STREAM_LEN + 1])
{
	unsigned char raw[HVT_STREAM_LEN / 2];

	hvt_random(raw, sizeof raw);
	hvt_hex(raw, sizeof raw, out);
}

bool hvt_stream_id_valid(const char *s)
{
	size_t n = strspn(s, hex_digits);

	return n == HVT_STREAM_LEN && s[n] == '\0';
}

int hvt_event_id_format(char *out, size_t size, const char *stream, uint64_t seq)
{
	return snprintf(out, size, "%s-%" PRIu64, stream, seq);
}

void hvt_event_set_identity(struct hvt_event *ev, const char *stream, uint64_t seq)
{
	char id[HVT_EVENT_ID_SIZE];

	hvt_event_id_format(id, sizeof id, stream, seq);
	hvt_event_set_str(&ev->stream, stream);
	hvt_event_set_str(&ev->id, id);
	ev->seq = seq;
}

bool hvt_event_id_is(const char *id, const char *stream, uint64_t seq)
{
	char num[24];
	size_t n = strlen(stream);

	snprintf(num, sizeof num, "%" PRIu64, seq);
	return strncmp(id, stream, n) == 0 && id[n] == '-' && strcmp(id + n + 1, num) == 0;
}

bool hvt_event_id_split(const char *id, size_t *stream_len, uint64_t *seq)
{
	const char *dash = strrchr(id, '-'), *p;
	uint64_t v = 0;

	if (!dash || dash == id || dash[1] < '1' || dash[1] > '9')
		return false;
	for (p = dash + 1; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (*p)
		return false;
	*stream_len = (size_t)(dash - id);
	*seq = v;
	return true;
}

bool hvt_event_identity_check(const struct hvt_event *ev, char *why, size_t size)
{
	if (!ev->host || !*ev->host || !ev->stream || !*ev->stream || !ev->id || ev->seq == 0) {
		snprintf(why, size, "it lacks host, stream, seq or id");
		return false;
	}
	if (!hvt_event_id_is(ev->id, ev->stream, ev->seq)) {
		snprintf(why, size, "its id '%.80s' is not <stream>-<seq> (%.40s-%" PRIu64 ")", ev->id,
			 ev->stream, ev->seq);
		return false;
	}
	return true;
}

void hvt_chain_hash(const char *json, size_t len, char out[HVT_SHA256_HEX])
{
	hvt_sha256_hex(json, len, out);
}

int hvt_chain_hash_message(const char *msg, size_t len, char out[HVT_SHA256_HEX])
{
	struct hvt_syslog_msg m;
	const char *json;
	size_t jlen;
	char err[128];

	out[0] = '\0';
	if (hvt_syslog_parse(msg, len, &m, err, sizeof err) < 0 || !hvt_syslog_is_event(&m, &json, &jlen))
		return -1;
	hvt_chain_hash(json, jlen, out);
	return 0;
}

int hvt_chain_hash_spooled(struct hvt_spool *sp, uint64_t seq, char out[HVT_SHA256_HEX])
{
	struct hvt_spool_reader *r;
	struct hvt_spool_rec rec;
	int rc = -1;

	out[0] = '\0';
	if (!seq)
		return 0;
	r = hvt_spool_reader_new(sp, seq);
	if (hvt_spool_reader_next(r, &rec) == 1 && rec.seq == seq)
		rc = hvt_chain_hash_message(rec.data, rec.len, out);
	hvt_spool_reader_free(r);
	return rc;
}
