/* follow.c - `hvtrail query -f`: print events as the collector stores them.
 *
 * Every 200 ms, ask for the rows after the last cursor.  The cursor must
 * also move past rows the filters reject, or each poll would re-read
 * everything stored since the start; so a poll first finds the newest
 * cursor overall (unfiltered, only new rows) and then reads the matching
 * rows.  A row committed between the two reads is still printed by the
 * second, and the next poll starts after both. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "query.h"
#include "util.h"

#define POLL_MS 200

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* No SA_RESTART: the signal must cut the poll's sleep short. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int note_cursor(void *arg, const struct hvt_row *row)
{
	int64_t *max = arg;

	*max = HVT_MAX(*max, row->cursor);
	return 0;
}

/* The highest cursor among rows after `after` (unfiltered), or `after`. */
static int newest_after(struct cli_index *ix, int64_t after, int64_t *max)
{
	struct hvt_query q = { .after_cursor = after };

	*max = after;
	if (ix->ops->query(&ix->inst, &q, note_cursor, max) < 0) {
		cli_error("query", "the index failed while answering (see above)");
		return -1;
	}
	return 0;
}

int follow_watermark(struct cli_index *ix, int64_t *cursor)
{
	struct hvt_query newest = { .newest_first = true, .limit = 1 };

	/* The newest event by time is (nearly always) among the last stored;
	 * from its cursor, walking forward over the few rows after it finds
	 * the true maximum without reading the whole index. */
	*cursor = 0;
	if (ix->ops->query(&ix->inst, &newest, note_cursor, cursor) < 0) {
		cli_error("query", "the index failed while answering (see above)");
		return -1;
	}
	return *cursor ? newest_after(ix, *cursor, cursor) : 0;
}

static bool has_filters(const struct hvt_query *q)
{
	return q->vm || q->host || q->type_glob || q->since_us || q->until_us || q->id || q->link;
}

struct poll_print {
	struct out *out;
	int64_t max;
};

static int print_new(void *arg, const struct hvt_row *row)
{
	struct poll_print *p = arg;

	p->max = HVT_MAX(p->max, row->cursor);
	return out_row(p->out, row) < 0 ? 1 : 0;
}

/* One poll: print what arrived after *cursor and advance it. */
static int poll_once(struct cli_index *ix, const struct hvt_query *filters, struct out *out,
		     int64_t *cursor)
{
	struct hvt_query q = *filters;
	struct poll_print p = { out, *cursor };
	int64_t newest = *cursor;

	if (has_filters(filters) && newest_after(ix, *cursor, &newest) < 0)
		return CLI_FAILED;
	q.after_cursor = *cursor;
	q.newest_first = false;
	q.limit = 0;
	if (ix->ops->query(&ix->inst, &q, print_new, &p) < 0) {
		cli_error("query", "the index failed while answering (see above)");
		return CLI_FAILED;
	}
	*cursor = HVT_MAX(newest, p.max);
	return CLI_OK;
}

/* A reader that went away (| head) shows as POLLERR on our end of the pipe;
 * notice it while idle too, not only at the next event we write. */
static bool output_closed(const struct out *out)
{
	struct pollfd p = { .fd = fileno(out->f), .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

static void sleep_poll(void)
{
	struct timespec ts = { 0, POLL_MS * 1000000L };

	nanosleep(&ts, NULL);   /* EINTR: a signal asked us to stop */
}

int follow_run(struct cli_index *ix, const struct hvt_query *q, struct out *out, int64_t cursor)
{
	int rc = CLI_OK;

	catch_signals();
	while (!stop_requested && rc == CLI_OK && !out->err) {
		sleep_poll();
		if (output_closed(out))
			out->err = EPIPE;
		else if (!stop_requested)
			rc = poll_once(ix, q, out, &cursor);
	}
	return rc == CLI_OK ? query_output_status(out) : rc;
}
