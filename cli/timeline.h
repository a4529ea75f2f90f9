/* timeline.h - `hvtrail query --timeline --vm X`: one VM across hosts in
 * time order, each migration and each COLO failover one row.
 * timeline.c reads and folds the events; timeline_print.c prints rows. */
#ifndef HVT_CLI_TIMELINE_H
#define HVT_CLI_TIMELINE_H

#include <stdbool.h>
#include <json-c/json.h>

#include "output.h"

enum tl_kind { TL_EVENT, TL_MIGRATION, TL_FAILOVER };

struct tl_row {
	long long ts;                 /* when it began */
	enum tl_kind kind;
	const char *type;             /* the event type, "migration" or "colo.failover" */
	char *hosts;                  /* "hv1", "hv1 -> hv2", "hv1, hv2" */
	json_object *host_list;       /* the same as an array (owned) */
	char *summary;                /* one readable line */
	const char *ref;              /* event id or migration link */
	json_object *json;            /* the row for -o json (owned) */
};

/* Print rows (sorted) in o's format; a CLI exit code. */
int tl_print(struct out *o, const struct tl_row *rows, size_t n);

#endif
