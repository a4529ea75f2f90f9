/* jd_testutil.h - helpers for the in_journald Check tests: real journal
 * files made from export-format text with systemd-journal-remote, read
 * back through the plugin's own reader. */
#ifndef HVT_JD_TESTUTIL_H
#define HVT_JD_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-journal.h>

#include "event.h"
#include "journal_fields.h"

/* Scratch directories live under one base made by jdt_main and removed
 * after every test ran (Check ends a failing child with _exit). */
char *jdt_mkdtemp(const char *tag);
void jdt_rmtree(char *dir);

/* Is systemd-journal-remote there?  Tests that need it skip without it. */
bool jdt_have_journal_remote(void);

/* Append export-format text (or the file at path) to DIR/name. */
void jdt_remote_text(const char *dir, const char *name, const char *export_text);
void jdt_remote_file(const char *dir, const char *name, const char *export_path);

/* Export text of n synthetic entries seq0.. in the style of the lab's
 * gen_export.py: kind = seq % 10 (0 VIRT_CONTROL ... 8,9 sshd noise). */
char *jdt_gen_export(int seq0, int n, long long realtime_base);

/* The default match list of the plugin (as the config default). */
extern char *const jdt_default_matches[];
extern const int jdt_ndefault_matches;

/* Read every entry of dir (matches may be NULL) into events, in order;
 * returns how many.  Fields: TEST_SEQ plus the plugin's defaults. */
struct jdt_read {
	struct hvt_event **ev;
	int *test_seq;                  /* TEST_SEQ of each, -1 if none */
	size_t n;
};
void jdt_read_dir(const char *dir, char *const *matches, int nmatches, bool libvirt_audit_events,
		  struct jdt_read *out);
void jdt_read_free(struct jdt_read *r);

/* data.<key> of an event as a string ("" when absent). */
const char *jdt_data_str(const struct hvt_event *ev, const char *key);
/* data.fields.<name> ("" when absent). */
const char *jdt_field(const struct hvt_event *ev, const char *name);

/* JSON text of the event; checks it is valid UTF-8 and parses back. */
void jdt_check_json(const struct hvt_event *ev);

int jdt_main(int argc, char **argv, void *suite);

#endif
