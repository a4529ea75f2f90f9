/* fuzz_journal_map.c - libFuzzer harness for the journal mapping.
 *
 * The input is journal fields as "NAME=value" lines (a value may hold any
 * byte but a newline).  Every event the mapping makes must serialise to
 * JSON the collector accepts.  Build: ./configure --enable-fuzzers CC=clang;
 * run: plugins/in_journald/fuzz_journal_map -max_total_time=60. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "journal_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jd_entry e;
	static struct jd_fieldset *all;
	static struct jd_map_opts o;
	const char *p = (const char *)data, *end = p + size;
	struct hvt_buf b = { 0 };
	char err[128];

	if (!all) {
		char *star[] = { "*" };
		all = jd_fieldset_new(star, 1, err, sizeof err);
		jd_entry_init(&e, 32, 512, all);
		jd_map_opts_default(&o);
	}
	jd_entry_reset(&e);
	o.libvirt_audit_events = size & 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		jd_entry_add_item(&e, p, len);
		p += len + 1;
	}
	struct hvt_event *ev = jd_map(&e, &o);
	hvt_event_to_json(ev, &b);
	struct hvt_event *back = hvt_event_from_json(b.data, b.len, &hvt_event_default_limits, false,
						     err, sizeof err);
	if (!back || !hvt_utf8_valid(b.data, b.len))
		abort();
	hvt_event_free(back);
	hvt_event_free(ev);
	hvt_buf_free(&b);
	return 0;
}
