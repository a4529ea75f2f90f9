/* alert_store_int.h - what the files of the alert store share
 * (alert_store.c: the file, transactions, decisions, deliveries, the
 * outbox; alert_store_state.c: incidents, pages, notifications, silences). */
#ifndef HVT_COL_ALERT_STORE_INT_H
#define HVT_COL_ALERT_STORE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sqlite3.h>

#include "alert_store.h"
#include "hash.h"

struct alert_store {
	sqlite3 *db;
	pthread_mutex_t lock;     /* recursive: reads may run inside a transaction */
	char stream[HVT_STREAM_LEN + 1];
	uint64_t head_seq;        /* the collector stream's last numbered event */
	char head_hash[HVT_SHA256_HEX];
};

/* Log what failed with SQLite's message; returns -1. */
int store_fail(struct alert_store *s, const char *what);
sqlite3_stmt *store_prep(struct alert_store *s, const char *sql);
/* Bind by a format: s = text (NULL binds NULL), i = int64; then step once.
 * Returns the step's result code, or SQLITE_ERROR (logged). */
int store_run(struct alert_store *s, const char *sql, const char *fmt, ...);
/* Column i as a malloc'ed string ("" for NULL). */
char *store_col_dup(sqlite3_stmt *st, int i);

#endif
