/* carry.h - what the forwarder keeps with its spool, so that a restart
 * (also after kill -9) knows exactly what the spool holds:
 *
 *  - each input's read position (a journal cursor): the position an input
 *    hands over with an event is stored in the meta of that event's spool
 *    record - one write - so it is durable exactly when the event is;
 *  - the idempotency window: the digests of the keys of the most recent
 *    keyed events (hvtrail emit), stored the same way, so a client that
 *    resends after a crash is recognised whether or not the crash came
 *    between its event's append and its answer.
 *
 * Recovery = the state saved in the spool (DIR/state, covering records up
 * to some seq) + the meta of every record after it.  The spool keeps
 * records the saved state does not cover (hold_for_state), so this replay
 * is always possible.  Meta is a few text lines per record:
 *     k <32 hex digits>            a key's digest
 *     p <name>\t<value>            a position (name: the input instance)
 */
#ifndef HVT_FWD_CARRY_H
#define HVT_FWD_CARRY_H

#include <stdbool.h>
#include <stdint.h>

#include "keywin.h"
#include "spool.h"
#include "util.h"

struct carry;

struct carry *carry_new(size_t window);
void carry_free(struct carry *c);

/* The digest of a key within a scope (the input instance). */
void carry_digest(const char *scope, const char *key, uint8_t out[KEYWIN_DIGEST]);

/* Meta for one record (appended to out): a key digest (or NULL) and a
 * position (name, value; or NULL). */
void carry_meta(struct hvt_buf *out, const uint8_t *digest, const char *name, const char *value);
/* The record seq carrying meta is in the spool: take its contents. */
void carry_apply(struct carry *c, const char *meta, size_t len, uint64_t seq);

bool carry_has_key(const struct carry *c, const uint8_t d[KEYWIN_DIGEST]);
/* Remember a key before its event is spooled (it waits in memory). */
void carry_add_key(struct carry *c, const uint8_t d[KEYWIN_DIGEST]);
/* The latest position stored under name, and the seq of the record that
 * stored it; NULL if none. */
const char *carry_position(const struct carry *c, const char *name, uint64_t *seq);

/* Load the saved state and replay the records after it.  Returns the
 * number of records replayed; logs what it could not trust. */
uint64_t carry_recover(struct carry *c, struct hvt_spool *sp);
/* Save everything up to record upto (which must be written to the
 * spool's files, and synced if the spool syncs).  0 or -errno. */
int carry_save(struct carry *c, struct hvt_spool *sp, uint64_t upto);
/* Changed since the last save. */
bool carry_dirty(const struct carry *c);
size_t carry_keys(const struct carry *c);

#endif
