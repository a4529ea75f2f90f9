/* lv_qmpxml.h - does a domain's XML give QEMU a monitor in one of in_qmp's
 * places (lv_coexist.c)?
 *
 * Only the arguments of <qemu:commandline> (libvirt's QEMU namespace) count,
 * and only a socket path - "-qmp unix:PATH,..." or "-chardev
 * socket,...,path=PATH,..." - that is exactly in_qmp's listen socket or a
 * socket directly inside one of its socket directories.  The rest of a
 * domain's XML is anyone's text: <description>, <title> and <metadata>
 * (where Nova writes the tenant's instance name) mentioning such a path must
 * not make in_libvirt keep a VM's events back, or a tenant could hide its VM
 * from the trail.  The XML comes from libvirtd (over the network for a
 * qemu+tls:// URI): parsed with a size bound, no network, no entities. */
#ifndef HVT_LV_QMPXML_H
#define HVT_LV_QMPXML_H

#include <stdbool.h>
#include <stddef.h>

#define LV_QMPXML_MAX (4u << 20)
#define LV_QEMU_XML_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* places: NULL-terminated; an entry ending in '/' is a directory (a socket
 * directly inside it matches), any other an exact socket path. */
bool lv_qmpxml_monitor(const char *xml, size_t len, char *const *places);

#endif
