/* log.c - see log.h. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "timefmt.h"
#include "util.h"

static const char *log_ident = "hvtrail";
static int log_level = LOG_INFO;
static enum hvt_log_target log_target = HVT_LOG_STDERR;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

/* Under systemd our stderr is the journal stream named in JOURNAL_STREAM
 * ("dev:inode"); writing structured entries directly keeps the priority. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void hvt_log_init(const char *ident)
{
	log_ident = ident;
	log_target = stderr_is_journal() ? HVT_LOG_JOURNAL : HVT_LOG_STDERR;
}

void hvt_log_set_level(int level) { log_level = level; }
int hvt_log_get_level(void) { return log_level; }
void hvt_log_set_target(enum hvt_log_target t) { log_target = t; }

int hvt_log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "err") == 0)
		return LOG_ERR;
	if (strcasecmp(name, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

void hvt_vlog(int level, const char *fmt, va_list ap)
{
	char msg[2048];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* messages quote what peers sent (certificate names, event fields): a
	 * control character must not forge a line or a terminal sequence */
	for (char *p = msg; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			*p = '?';
	if (log_target == HVT_LOG_JOURNAL) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level,
				"SYSLOG_IDENTIFIER=%s", log_ident, NULL);
		return;
	}
	if (log_target == HVT_LOG_PLAIN) {
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "%s: %s\n", log_ident, msg);
		pthread_mutex_unlock(&log_lock);
		return;
	}
	char ts[40];
	hvt_format_rfc3339(hvt_now_us(), ts, sizeof ts);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s %s[%d]: %s: %s\n", ts, log_ident, (int)getpid(),
		level_names[level & 7], msg);
	pthread_mutex_unlock(&log_lock);
}

void hvt_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hvt_vlog(level, fmt, ap);
	va_end(ap);
}

void hvt_log_ratelimited(struct hvt_ratelimit *rl, int level, const char *fmt, ...)
{
	long long now = hvt_now_us();
	char msg[1800];
	va_list ap;

	pthread_mutex_lock(&log_lock);
	if (rl->last_us && now - rl->last_us < (long long)rl->interval_ms * 1000) {
		rl->suppressed++;
		pthread_mutex_unlock(&log_lock);
		return;
	}
	unsigned suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last_us = now;
	pthread_mutex_unlock(&log_lock);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (suppressed)
		hvt_log(level, "%s (%u similar messages suppressed)", msg, suppressed);
	else
		hvt_log(level, "%s", msg);
}
