/* qmp_foreign.h - monitors another manager owns, which in_qmp never touches.
 *
 * A QMP monitor serves one client at a time: while the forwarder is
 * connected, the manager's own next connection waits in QEMU's backlog, and
 * a manager that connects per operation (Xen's libxl for every domain
 * action, Proxmox's qm, libvirtd's monitor) stalls.  So in_qmp refuses a
 * socket_dir that is such a manager's directory, and skips sockets whose
 * names are such a manager's, whatever directory they appear in:
 *   Xen (libxl)    /run/xen, /var/run/xen: qmp-libxl-<domid>, qmp-libxenstat-<domid>
 *   Proxmox VE     /run/qemu-server, /var/run/qemu-server: <vmid>.qmp (and .mon)
 *   libvirt        /var/lib/libvirt/qemu, /run/libvirt/qemu: domain-N-NAME/monitor.sock
 * hvtrail's own monitors are the ones it asks for: an extra -qmp in its
 * socket_dir, or a QEMU that connects to in_qmp's listen socket. */
#ifndef HVT_QMP_FOREIGN_H
#define HVT_QMP_FOREIGN_H

#include <stdbool.h>
#include <stddef.h>

/* Is dir (absolute, symlinks resolved where it exists) or a directory above
 * it a manager's?  why gets the manager's name. */
bool qmp_foreign_dir(const char *dir, char *why, size_t size);
/* Is a socket called name a manager's? */
bool qmp_foreign_name(const char *name, char *why, size_t size);

#endif
