/* schema.h - the forwarder's own config sections. */
#ifndef HVT_FWD_SCHEMA_H
#define HVT_FWD_SCHEMA_H

#include "instance.h"

extern const struct hvt_conf_key fwd_schema_forwarder[];
extern const struct hvt_conf_key fwd_schema_spool[];
extern const struct hvt_core_section fwd_core_sections[];

#endif
