/* fault.c - see fault.h. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char fault_name[128];      /* "" = no fault point armed */
static long fault_at;
static atomic_long passes;

static void parse_env(void)
{
	const char *v = getenv("HVTRAIL_FAULT");
	const char *colon = v ? strrchr(v, ':') : NULL;
	char *end;

	if (!colon || colon == v || (size_t)(colon - v) >= sizeof fault_name)
		return;
	long n = strtol(colon + 1, &end, 10);
	if (*end || n < 1)
		return;
	memcpy(fault_name, v, (size_t)(colon - v));
	fault_name[colon - v] = '\0';
	fault_at = n;
}

void hvt_fault_point(const char *name)
{
	pthread_once(&once, parse_env);
	if (!fault_name[0] || strcmp(name, fault_name) != 0)
		return;
	if (atomic_fetch_add(&passes, 1) + 1 != fault_at)
		return;
	/* not through hvt_log: the point is to die with nothing flushed */
	char msg[200];
	int n = snprintf(msg, sizeof msg, "HVTRAIL_FAULT: dying at fault point %s (pass %ld)\n", name, fault_at);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		n = 0;
	kill(getpid(), SIGKILL);
	_exit(137);
}

static pthread_once_t refuse_once = PTHREAD_ONCE_INIT;
static const char *refuse_text;   /* NULL: no content fault armed */

static void parse_refuse(void)
{
	const char *v = getenv("HVTRAIL_FAULT_REFUSE");

	refuse_text = v && *v ? v : NULL;
}

bool hvt_fault_refuse(const char *raw, size_t len)
{
	pthread_once(&refuse_once, parse_refuse);
	return refuse_text && raw && memmem(raw, len, refuse_text, strlen(refuse_text)) != NULL;
}
