/* http_assets.h - the web UI's files, embedded at build time from
 * collector/web/ by collector/web/embed.sh (http_assets.c is generated). */
#ifndef HVT_COL_HTTP_ASSETS_H
#define HVT_COL_HTTP_ASSETS_H

#include <stddef.h>

struct http_asset {
	const char *path;             /* "/app.js" */
	const char *type;             /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Terminated by an entry with path NULL. */
extern const struct http_asset http_assets[];

#endif
