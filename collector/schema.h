/* schema.h - the collector's own config sections. */
#ifndef HVT_COL_SCHEMA_H
#define HVT_COL_SCHEMA_H

#include "instance.h"

extern const struct hvt_conf_key col_schema_collector[];
extern const struct hvt_conf_key col_schema_listen[];
extern const struct hvt_conf_key col_schema_inbox[];
extern const struct hvt_conf_key col_schema_alerting[];
extern const struct hvt_conf_key col_schema_alert[];
extern const struct hvt_conf_key col_schema_http[];
extern const struct hvt_core_section col_core_sections[];

#endif
