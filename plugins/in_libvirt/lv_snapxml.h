/* lv_snapxml.h - what a snapshot is, from libvirt's snapshot XML.
 *
 * libvirt sends no event when a snapshot is made or deleted (a disk-only
 * external snapshot of a running domain changes nothing else either), so
 * the plugin lists each domain's snapshots and reads the XML of new ones:
 * <domainsnapshot> with <name>, <creationTime> (seconds), <state>,
 * <memory snapshot=internal|external|no>, <disks><disk name snapshot>
 * <source file/>.  The XML comes from libvirtd (over the network for a
 * qemu+tls:// URI), so it is parsed with bounds and without network access
 * or entity expansion. */
#ifndef HVT_LV_SNAPXML_H
#define HVT_LV_SNAPXML_H

#include <stddef.h>
#include <json-c/json.h>

#define LV_SNAPXML_MAX (4u << 20)     /* the domain's XML is inside: allow for it */

/* A JSON object {"name", "created" (seconds), "state", "memory",
 * "location" (internal, external, mixed or none), "disks": [{"disk",
 * "snapshot", "file"}], "parent", "description"}; absent keys were not in
 * the XML.  NULL with err set when the text is not a snapshot's XML. */
json_object *lv_snapxml_parse(const char *xml, size_t len, char *err, size_t errsize);

#endif
