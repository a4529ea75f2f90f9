/* log.h - one log sink for daemons, CLI and plugins.
 *
 * Messages go to stderr with a timestamp, or to the systemd journal when the
 * process runs under systemd (JOURNAL_STREAM names our stderr).  Levels are
 * syslog's.  hvt_log_ratelimited() keeps a hostile or flapping peer from
 * flooding the log: it prints the first occurrence and then one summary per
 * interval. */
#ifndef HVT_LOG_H
#define HVT_LOG_H

#include <stdarg.h>
#include <syslog.h>

enum hvt_log_target {
	HVT_LOG_STDERR,               /* "TIME prog[pid]: level: message" (daemons) */
	HVT_LOG_JOURNAL,              /* structured entries (under systemd) */
	HVT_LOG_PLAIN,                /* "prog: message" (command-line tools) */
};

void hvt_log_init(const char *ident);
void hvt_log_set_level(int level);
int  hvt_log_get_level(void);
int  hvt_log_level_parse(const char *name);      /* -1 when unknown */
void hvt_log_set_target(enum hvt_log_target t);

void hvt_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hvt_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* A rate limiter for one kind of message: at most one line per interval,
 * with the number of suppressed repeats appended to the next one printed. */
struct hvt_ratelimit {
	long long last_us;
	unsigned suppressed;
	unsigned interval_ms;
};
#define HVT_RATELIMIT_INIT(ms) { 0, 0, (ms) }
void hvt_log_ratelimited(struct hvt_ratelimit *rl, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define hvt_err(...)    hvt_log(LOG_ERR, __VA_ARGS__)
#define hvt_warn(...)   hvt_log(LOG_WARNING, __VA_ARGS__)
#define hvt_notice(...) hvt_log(LOG_NOTICE, __VA_ARGS__)
#define hvt_info(...)   hvt_log(LOG_INFO, __VA_ARGS__)
#define hvt_debug(...)  do { if (hvt_log_get_level() >= LOG_DEBUG) hvt_log(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
