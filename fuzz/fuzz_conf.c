/* fuzz_conf.c - libFuzzer harness for the configuration parser
 * (lib/conf.c on inih): the text of a config file, parsed, every section
 * checked against the schema its name selects - the daemons' own
 * sections (collector/schema.c, forwarder/schema.c) and one synthetic
 * schema with a key of every type - and, when the checks pass, every
 * getter called, since they promise not to fail on checked values.
 * [include] is not followed (hvt_conf_load_string reads no files). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct hvt_conf_key col_schema_collector[], col_schema_listen[], col_schema_inbox[];
extern const struct hvt_conf_key fwd_schema_forwarder[], fwd_schema_spool[];

static const struct hvt_conf_key every_type[] = {
	{ "s", HVT_CONF_STRING, "x", "a string", NULL, 0, 0, 0 },
	{ "p", HVT_CONF_PATH, "/tmp", "a path", NULL, 0, 0, 0 },
	{ "i", HVT_CONF_INT, "5", "an int", NULL, -3, 1000000, 0 },
	{ "b", HVT_CONF_BOOL, "no", "a bool", NULL, 0, 0, 0 },
	{ "z", HVT_CONF_SIZE, "64K", "a size", NULL, 1, 1LL << 40, 0 },
	{ "d", HVT_CONF_DURATION, "1s", "a duration", NULL, 0, 86400000, 0 },
	{ "e", HVT_CONF_ENUM, "a", "an enum", "a|bb|c-d", 0, 0, 0 },
	{ "l", HVT_CONF_LIST, "x, y", "a list", NULL, 0, 0, 0 },
	{ "r", HVT_CONF_STRING, NULL, "required", NULL, 0, 0, HVT_CONF_REQUIRED },
	HVT_CONF_END
};

static const struct {
	const char *kind;
	const struct hvt_conf_key *schema;
} schemas[] = {
	{ "collector", col_schema_collector }, { "listen", col_schema_listen }, { "inbox", col_schema_inbox },
	{ "forwarder", fwd_schema_forwarder }, { "spool", fwd_schema_spool }, { "every", every_type },
};

static const struct hvt_conf_key *schema_for(const char *kind)
{
	for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
		if (strcmp(schemas[i].kind, kind) == 0)
			return schemas[i].schema;
	return every_type;            /* unknown sections: the "unknown key" paths */
}

static void get_all(const struct hvt_conf_section *s, const struct hvt_conf_key *schema)
{
	char where[128];

	for (const struct hvt_conf_key *k = schema; k->name; k++) {
		switch (k->type) {
		case HVT_CONF_INT: (void)hvt_conf_int(s, schema, k->name); break;
		case HVT_CONF_BOOL: (void)hvt_conf_bool(s, schema, k->name); break;
		case HVT_CONF_SIZE: (void)hvt_conf_size(s, schema, k->name); break;
		case HVT_CONF_DURATION: (void)hvt_conf_duration_ms(s, schema, k->name); break;
		case HVT_CONF_LIST: {
			int n;
			hvt_conf_list_free(hvt_conf_list(s, schema, k->name, &n));
			break;
		}
		default: (void)hvt_conf_str(s, schema, k->name); break;
		}
		(void)hvt_conf_where(s, k->name, where, sizeof where);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;

	if (!once++)
		hvt_log_set_level(LOG_EMERG);
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct hvt_conf *c = hvt_conf_load_string(text, "fuzz.conf", "fuzz");
	for (struct hvt_conf_section *s = c->sections; s; s = s->next)
		hvt_conf_check_section(c, s, schema_for(s->kind));
	if (c->errors == 0)
		for (struct hvt_conf_section *s = c->sections; s; s = s->next)
			get_all(s, schema_for(s->kind));
	hvt_conf_free(c);
	free(text);
	return 0;
}
