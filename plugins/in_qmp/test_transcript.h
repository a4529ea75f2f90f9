/* test_transcript.h - the lab's QMP transcripts (the .jsonl files in
 * tests/fixtures/qmp) for the in_qmp tests: loading them, answering queries the way the
 * recorded QEMU did, and replaying a monitor through the normaliser. */
#ifndef HVT_TEST_TRANSCRIPT_H
#define HVT_TEST_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "event.h"
#include "qmp_normalise.h"

struct qtr_rec {
	char dir[8];                  /* recv, send, note, eof, close */
	double t;                     /* seconds since the scenario started (shared by sides) */
	long long ts_us;              /* wall clock */
	const char *raw;              /* exact line (recv/send), borrowed from msg_root */
	size_t raw_len;
	bool truncated;               /* the lab logged only the start of a long line */
	json_object *msg;             /* parsed message, or NULL */
	json_object *root;            /* owns raw and msg */
};

struct transcript {
	char *name;
	struct qtr_rec *r;
	size_t n;
};

/* name is a file in the fixture directory ("migration-src-mon2.jsonl"). */
struct transcript *qtr_load(const char *name);
void qtr_free(struct transcript *t);
/* Every *.jsonl in the fixture directory, sorted; NULL-terminated. */
char **qtr_list(void);
void qtr_list_free(char **l);

/* Replay one monitor through the normaliser.  Queries are answered from the
 * commands another monitor of the same VM (oracle, may be NULL) sent within
 * window seconds after the question; otherwise they fail. */
struct replay {
	struct hvt_event **ev;
	size_t n;
	unsigned asked[QMP_Q_COUNT];
	unsigned answered[QMP_Q_COUNT];
};
void replay_run(struct replay *out, const char *mon, const char *oracle, double window,
		const struct qmp_norm_opts *opts);
void replay_free(struct replay *r);
/* "vm.started migration.started ..." (caller frees) */
char *replay_types(const struct replay *r);
/* The first event of that type, or NULL. */
struct hvt_event *replay_find(const struct replay *r, const char *type);

#endif
