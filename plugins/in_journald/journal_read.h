/* journal_read.h - the sd-journal side of the reader: open a journal, apply
 * the matches, turn the current entry into a jd_entry.  The plugin and the
 * benchmark (bench/journald_read.c) share it, so the benchmark measures the
 * path the forwarder runs. */
#ifndef HVT_JOURNAL_READ_H
#define HVT_JOURNAL_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-journal.h>

#include "journal_fields.h"

/* What to open: a directory (sd_journal_open_directory, which follows
 * rotation), a journald namespace, or (both empty) the local system
 * journal (/run/log/journal and /var/log/journal).  Returns 0 or -errno. */
int jd_journal_open(sd_journal **j, const char *directory, const char *ns, size_t max_field);

/* "directory /x", "namespace x" or "the system journal", for log lines. */
const char *jd_journal_describe(const char *directory, const char *ns, char *buf, size_t size);

/* A match as written in the config: "FIELD=value", or "+" (OR). */
bool jd_match_valid(const char *m);

/* Add the matches ("+" = sd_journal_add_disjunction).  0 or -errno; err
 * names the match sd-journal refused. */
int jd_journal_add_matches(sd_journal *j, char *const *matches, int n, char *err, size_t errsize);

/* The current entry: realtime stamp, cursor and the fields e wants.
 * 0 or -errno. */
int jd_journal_read_entry(sd_journal *j, struct jd_entry *e);

#endif
