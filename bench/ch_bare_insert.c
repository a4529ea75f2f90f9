/* ch_bare_insert.c - the baseline of bench/clickhouse-ingest.sh: bare
 * ClickHouse ingest with nothing of hvtrail around it.
 *
 *   ch_bare_insert URL TABLE ROWS.jsonl BATCH
 *
 * Reads the file (one JSONEachRow row per line) into memory first, then
 * sends it in BATCH-line INSERTs over one keep-alive libcurl connection -
 * what a client that already has its rows can do at best.  Prints
 * "ROWS rows in SECONDS s" on stdout; exit 1 if an INSERT fails. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		exit(2);
	}
	data = malloc((size_t)n + 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(2);
	}
	fclose(f);
	data[n] = '\0';
	*len = (size_t)n;
	return data;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	fwrite(p, size, n, (FILE *)arg);    /* an error text, if any */
	return size * n;
}

int main(int argc, char **argv)
{
	size_t len, rows = 0, batch;
	char *data, *p, *url, *q;
	CURL *c;
	double t0;
	long status = 0;

	if (argc != 5 || (batch = strtoul(argv[4], NULL, 10)) == 0) {
		fprintf(stderr, "usage: %s URL TABLE ROWS.jsonl BATCH\n", argv[0]);
		return 2;
	}
	data = slurp(argv[3], &len);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	q = curl_easy_escape(c, "INSERT INTO ", 0);
	if (asprintf(&url, "%s?query=%s%s%%20FORMAT%%20JSONEachRow", argv[1], q, argv[2]) < 0)
		return 2;
	curl_free(q);
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stderr);
	t0 = now();
	for (p = data; p < data + len;) {
		char *end = p;
		size_t n = 0;
		while (end < data + len && n < batch) {
			char *nl = memchr(end, '\n', (size_t)(data + len - end));
			end = nl ? nl + 1 : data + len;
			n++;
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, p);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(end - p));
		if (curl_easy_perform(c) != CURLE_OK ||
		    (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), status != 200)) {
			fprintf(stderr, "INSERT failed (HTTP %ld)\n", status);
			return 1;
		}
		rows += n;
		p = end;
	}
	printf("%zu rows in %.3f s\n", rows, now() - t0);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(url);
	free(data);
	return 0;
}
