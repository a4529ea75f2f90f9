/* health.c - see health.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "health.h"
#include "log.h"
#include "util.h"

const char *const health_part_names[HEALTH_PARTS] = { "inbox", "index" };

static struct {
	pthread_mutex_t lock;
	int fd;
	bool failing[HEALTH_PARTS];
	long long since_us[HEALTH_PARTS];
	char why[HEALTH_PARTS][400];
} h = { PTHREAD_MUTEX_INITIALIZER, -1, { false }, { 0 }, { "" } };

/* The whole state as one JSON object, padded with blanks to the file's
 * size, written over the old one (lock held). */
static void write_file(void)
{
	struct hvt_buf b = { 0 };
	bool storing = true;

	if (h.fd < 0)
		return;
	for (int i = 0; i < HEALTH_PARTS; i++)
		storing = storing && !h.failing[i];
	hvt_buf_printf(&b, "{\"pid\":%d,\"updated_us\":%lld,\"storing\":%s,\"problems\":[", (int)getpid(),
		       hvt_now_us(), storing ? "true" : "false");
	for (int i = 0, n = 0; i < HEALTH_PARTS; i++) {
		if (!h.failing[i])
			continue;
		hvt_buf_printf(&b, "%s{\"part\":\"%s\",\"since_us\":%lld,\"why\":", n++ ? "," : "",
			       health_part_names[i], h.since_us[i]);
		hvt_json_escape(&b, h.why[i]);
		hvt_buf_append_str(&b, "}");
	}
	hvt_buf_append_str(&b, "]}\n");
	if (b.len > HEALTH_FILE_SIZE)
		b.len = HEALTH_FILE_SIZE;     /* cannot happen: why is bounded */
	while (b.len < HEALTH_FILE_SIZE)
		hvt_buf_append(&b, " ", 1);
	if (pwrite(h.fd, b.data, HEALTH_FILE_SIZE, 0) != HEALTH_FILE_SIZE)
		hvt_debug("cannot update the health file: %s", strerror(errno));
	hvt_buf_free(&b);
}

int health_open(const char *state_dir)
{
	char *path = hvt_asprintf("%s/" HEALTH_FILE, state_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		hvt_log(LOG_ERR, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* allocate the blocks now, while there is room */
	int rc = posix_fallocate(fd, 0, HEALTH_FILE_SIZE);
	if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL)
		hvt_log(LOG_WARNING, "cannot allocate %s: %s", path, strerror(rc));
	free(path);
	pthread_mutex_lock(&h.lock);
	h.fd = fd;
	write_file();
	pthread_mutex_unlock(&h.lock);
	return 0;
}

void health_close(void)
{
	pthread_mutex_lock(&h.lock);
	if (h.fd >= 0)
		close(h.fd);
	h.fd = -1;
	pthread_mutex_unlock(&h.lock);
}

void health_fail(enum health_part part, const char *why)
{
	pthread_mutex_lock(&h.lock);
	bool changed = !h.failing[part] || strcmp(h.why[part], why) != 0;
	if (!h.failing[part]) {
		h.failing[part] = true;
		h.since_us[part] = hvt_now_us();
	}
	hvt_strlcpy(h.why[part], why, sizeof h.why[part]);
	if (changed)
		write_file();
	pthread_mutex_unlock(&h.lock);
}

void health_ok(enum health_part part)
{
	pthread_mutex_lock(&h.lock);
	if (h.failing[part]) {
		h.failing[part] = false;
		h.why[part][0] = '\0';
		write_file();
	}
	pthread_mutex_unlock(&h.lock);
}

bool health_get(enum health_part part, long long *since_us, char *why, int size)
{
	pthread_mutex_lock(&h.lock);
	bool failing = h.failing[part];
	*since_us = h.since_us[part];
	snprintf(why, (size_t)size, "%s", h.why[part]);
	pthread_mutex_unlock(&h.lock);
	return failing;
}
