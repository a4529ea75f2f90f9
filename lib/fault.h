/* fault.h - crash points for the tests.
 *
 * Some windows are too narrow to hit with a kill from outside: the instant
 * between idx_clickhouse's INSERT of a batch's rows and the INSERT of its
 * inbox position, say.  A test that must prove what happens when a crash
 * falls exactly there sets HVTRAIL_FAULT=NAME:N in the daemon's
 * environment; the N-th time the process passes hvt_fault_point("NAME"), it
 * dies at once by SIGKILL, as a kill -9 at that instant would.  Without the
 * variable a fault point costs one load of a cached flag. */
#ifndef HVT_FAULT_H
#define HVT_FAULT_H

#include <stdbool.h>
#include <stddef.h>

void hvt_fault_point(const char *name);

/* A content fault for the tests: with HVTRAIL_FAULT_REFUSE=TEXT in the
 * environment, the index plugins refuse any event whose raw JSON contains
 * TEXT, as they refuse an event they cannot store (tests/quarantine.test:
 * the indexer must set it aside and store the rest).  false without the
 * variable. */
bool hvt_fault_refuse(const char *raw, size_t len);

#endif
