/* db.c - the SQLite connection: opening it safely, pragmas, error helpers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idx.h"
#include "log.h"
#include "util.h"

int idx_fail(struct idx *x, int rc, const char *what)
{
	const char *msg = x->db ? sqlite3_errmsg(x->db) : sqlite3_errstr(rc);

	x->last_rc = rc;
	hvt_log(LOG_ERR, "idx_sqlite %s: %s: %s (code %d)", x->path, what, msg, rc);
	return -1;
}

int idx_exec(struct idx *x, const char *sql)
{
	int rc = sqlite3_exec(x->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : idx_fail(x, rc, sql);
}

int idx_prepare(struct idx *x, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(x->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : idx_fail(x, rc, sql);
}

int idx_prepare_persistent(struct idx *x, const char *sql, sqlite3_stmt **st)
{
	/* PERSISTENT: kept for the life of the connection, so SQLite need not
	 * carve it from the small lookaside pool meant for short-lived ones. */
	int rc = sqlite3_prepare_v3(x->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	return rc == SQLITE_OK ? 0 : idx_fail(x, rc, sql);
}

int idx_step_done(struct idx *x, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ret = rc == SQLITE_DONE ? 0 : idx_fail(x, rc, what);   /* before reset clears the message */

	sqlite3_reset(st);
	return ret;
}

int idx_refuse_readonly(struct idx *x, const char *op)
{
	hvt_log(LOG_ERR, "idx_sqlite %s: %s is not possible: the index was opened read-only", x->path, op);
	return -1;
}

void idx_lock(struct idx *x)
{
	pthread_mutex_lock(&x->lock);
}

void idx_unlock(struct idx *x)
{
	pthread_mutex_unlock(&x->lock);
}

/* Create the directory (0700) and an empty database file (0600) ourselves:
 * SQLite would create it with 0644 & ~umask, and changing the umask is not
 * an option inside a threaded daemon.  SQLite gives the -wal and -shm files
 * the mode of the database file, so they end up 0600 as well. */
static int create_file(const char *path)
{
	char dir[4096];
	struct stat st;
	int fd, rc;

	hvt_strlcpy(dir, path, sizeof dir);
	rc = hvt_mkdir_p(dirname(dir), 0700);
	if (rc < 0) {
		hvt_log(LOG_ERR, "idx_sqlite: cannot create the directory of %s: %s", path, strerror(-rc));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		hvt_log(LOG_ERR, "idx_sqlite: cannot create or open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		hvt_log(LOG_WARNING, "idx_sqlite: %s is readable by group or others (mode %04o); "
			"the audit trail should be 0600", path, (unsigned)(st.st_mode & 07777));
	close(fd);
	return 0;
}

static int check_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 0;
	if (errno == ENOENT)
		hvt_log(LOG_ERR, "idx_sqlite: the index %s does not exist (the collector creates it on its "
			"first start; is the path right?)", path);
	else
		hvt_log(LOG_ERR, "idx_sqlite: cannot access the index %s: %s", path, strerror(errno));
	return -1;
}

/* Run a pragma that answers with one value and return that value as text. */
static int pragma_text(struct idx *x, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(x->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return idx_fail(x, rc, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		idx_fail(x, rc, sql);
		sqlite3_finalize(st);
		return -1;
	}
	hvt_strlcpy(out, rc == SQLITE_ROW && sqlite3_column_text(st, 0)
			 ? (const char *)sqlite3_column_text(st, 0) : "", size);
	sqlite3_finalize(st);
	return 0;
}

/* max_size: SQLite refuses to grow the file past max_page_count and reports
 * SQLITE_FULL, which store() treats exactly like a full disk. */
static int limit_size(struct idx *x, uint64_t max_bytes)
{
	char buf[64], sql[96];
	long long page, pages;

	if (pragma_text(x, "PRAGMA page_size", buf, sizeof buf) < 0)
		return -1;
	page = atoll(buf);
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu",
		 (unsigned long long)(max_bytes / (uint64_t)(page > 0 ? page : 4096)));
	if (pragma_text(x, sql, buf, sizeof buf) < 0)
		return -1;
	pages = atoll(buf);
	if ((uint64_t)(pages * page) > max_bytes)
		hvt_log(LOG_WARNING, "idx_sqlite %s: the index is already %lld bytes, more than max_size "
			"(%llu); it will not grow any further", x->path, pages * page,
			(unsigned long long)max_bytes);
	return 0;
}

static int writer_pragmas(struct idx *x, const struct idx_options *o)
{
	char mode[16];

	/* WAL: readers (the CLI) never block the collector, and a commit is one
	 * append to the log instead of a rollback journal plus two writes. */
	if (pragma_text(x, "PRAGMA journal_mode = WAL", mode, sizeof mode) < 0)
		return -1;
	if (strcmp(mode, "wal") != 0) {
		hvt_log(LOG_ERR, "idx_sqlite %s: cannot switch to WAL mode (got '%s')", x->path, mode);
		return -1;
	}
	/* NORMAL in WAL mode survives a crash of the process (kill -9) but may
	 * lose the last commits on power loss; FULL syncs the log at every commit. */
	if (idx_exec(x, o->sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL") < 0)
		return -1;
	/* Checkpoint every ~4000 pages (16 MiB with 4 KiB pages, a few batches)
	 * instead of SQLite's 1000: each checkpoint syncs, and the index pages a
	 * batch dirties are mostly the ones the next batch dirties again, so
	 * they are copied into the database once per checkpoint, not per batch.
	 * Measured here: +15-20% rows/s. */
	if (idx_exec(x, "PRAGMA wal_autocheckpoint = 4000") < 0)
		return -1;
	if (o->max_bytes && limit_size(x, o->max_bytes) < 0)
		return -1;
	return 0;
}

static int common_pragmas(struct idx *x, const struct idx_options *o)
{
	char sql[64];

	sqlite3_extended_result_codes(x->db, 1);
	sqlite3_busy_timeout(x->db, (int)o->busy_timeout_ms);
	/* A negative cache_size is in KiB. */
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%llu",
		 (unsigned long long)HVT_MAX(o->cache_bytes / 1024, 64));
	return idx_exec(x, sql);
}

int idx_db_open(struct idx *x, const struct idx_options *o)
{
	int flags = SQLITE_OPEN_NOMUTEX;   /* x->lock serialises every use */
	int rc;

	if (x->readonly) {
		if (check_exists(o->path) < 0)
			return -1;
		flags |= SQLITE_OPEN_READONLY;
	} else {
		if (create_file(o->path) < 0)
			return -1;
		flags |= SQLITE_OPEN_READWRITE;   /* never CREATE: create_file() did, with our mode */
	}
	rc = sqlite3_open_v2(o->path, &x->db, flags, NULL);
	if (rc != SQLITE_OK) {
		idx_fail(x, rc, "cannot open the index");
		idx_db_close(x);
		return -1;
	}
	if (common_pragmas(x, o) < 0 || idx_grep_register(x->db) < 0) {
		if (sqlite3_extended_errcode(x->db) == SQLITE_READONLY_DIRECTORY)
			hvt_log(LOG_ERR, "idx_sqlite %s: a reader of a WAL database needs to create its "
				"-shm file next to it while the collector is not running; run as the "
				"collector's user (or root)", x->path);
		goto fail;
	}
	if (x->readonly) {
		if (idx_exec(x, "PRAGMA query_only = 1") < 0 || idx_schema_check(x) < 0)
			goto fail;
		return 0;
	}
	if (writer_pragmas(x, o) < 0 || idx_schema_create(x) < 0 || idx_store_prepare(x) < 0)
		goto fail;
	return 0;
fail:
	idx_db_close(x);
	return -1;
}

void idx_db_close(struct idx *x)
{
	if (!x->db)
		return;
	idx_store_finalize(x);
	/* Keep the planner's statistics fresh for the CLI's queries.  SQLite
	 * decides per table whether it is worth it; analysis_limit makes it
	 * sample instead of reading 100M rows while systemd waits for us. */
	if (!x->readonly)
		sqlite3_exec(x->db, "PRAGMA analysis_limit = 1000; PRAGMA optimize", NULL, NULL, NULL);
	sqlite3_close_v2(x->db);
	x->db = NULL;
}
