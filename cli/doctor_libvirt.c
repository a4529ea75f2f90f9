/* doctor_libvirt.c - can the forwarder's user reach libvirt as [in_libvirt]
 * will: the connection (read-only unless readonly = false), the domain
 * listing it starts with, and - on a read-write connection - libvirt's
 * permission for QEMU's event passthrough.  Tried with the daemon's
 * credentials (doc_as), so socket permissions, libvirtd.conf's auth and a
 * polkit rule all count as they will for the daemon. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "doctor.h"

enum { L_OK = 0, L_CONNECT = 1, L_LIST = 2, L_QEMU_DENIED = 3 };

struct larg {
	const char *uri;
	bool readonly, qemu_events;
};

static void quiet(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();
	return m ? m : "unknown error";
}

static void on_qemu(virConnectPtr c, virDomainPtr d, const char *ev, long long s, unsigned int us,
		    const char *details, void *opaque)
{
	(void)c;
	(void)d;
	(void)ev;
	(void)s;
	(void)us;
	(void)details;
	(void)opaque;
}

static int try_libvirt(void *arg, char *msg, size_t size)
{
	const struct larg *a = arg;
	virConnectPtr c;
	unsigned long ver = 0;
	int n, rc = L_OK;

	virSetErrorFunc(NULL, quiet);
	/* the passthrough's registration needs an event loop to exist */
	virEventRegisterDefaultImpl();
	c = virConnectOpenAuth(a->uri, NULL, a->readonly ? VIR_CONNECT_RO : 0);
	if (!c) {
		snprintf(msg, size, "%s", last_error());
		return L_CONNECT;
	}
	n = virConnectNumOfDomains(c);
	int defined = virConnectNumOfDefinedDomains(c);
	if (n < 0 || defined < 0) {
		snprintf(msg, size, "connected, but cannot list the domains: %s", last_error());
		virConnectClose(c);
		return L_LIST;
	}
	virConnectGetLibVersion(c, &ver);
	char *host = virConnectGetHostname(c);
	int len = snprintf(msg, size, "libvirt %lu.%lu.%lu on %s, %d running and %d defined domains",
			   ver / 1000000, ver / 1000 % 1000, ver % 1000, host ? host : "?", n, defined);
	free(host);
	if (!a->readonly && a->qemu_events) {
		int id = virConnectDomainQemuMonitorEventRegister(c, NULL, NULL, on_qemu, NULL, NULL, 0);
		if (id < 0) {
			snprintf(msg + len, size - (size_t)len, "; QEMU's event passthrough refused: %s",
				 last_error());
			rc = L_QEMU_DENIED;
		} else {
			virConnectDomainQemuMonitorEventDeregister(c, id);
		}
	}
	virConnectClose(c);
	return rc;
}

void doc_check_libvirt(struct doctor *d, const struct hvt_instance *lv)
{
	struct larg a = {
		.uri = doc_str(lv, "uri"),
		.readonly = strcmp(doc_str(lv, "readonly"), "true") == 0 ||
			    strcmp(doc_str(lv, "readonly"), "yes") == 0 || strcmp(doc_str(lv, "readonly"), "1") == 0,
		.qemu_events = strcmp(doc_str(lv, "qemu_events"), "off") != 0,
	};
	char msg[1024], fix[640];
	int r = doc_as(&d->daemon, try_libvirt, &a, msg, sizeof msg);

	switch (r) {
	case L_OK:
		doc_report(d, DOC_OK, "libvirt", NULL, "[%s] %s connects %s to %s: %s%s", lv->name,
			   d->daemon.name, a.readonly ? "read-only" : "read-write", a.uri, msg,
			   a.readonly ? "; QEMU's own events (COLO) are not visible on a read-only "
			   "connection" : a.qemu_events ? "; QEMU's event passthrough allowed" : "");
		break;
	case L_CONNECT:
		/* refused for this user, or nobody there: the fix differs */
		if (strstr(msg, "ermission denied") || strstr(msg, "uthentication") ||
		    strstr(msg, "not allowed") || strstr(msg, "olkit"))
			snprintf(fix, sizeof fix, "%s", a.readonly ?
				 "the read-only socket (libvirt-sock-ro) must let this user in: "
				 "unix_sock_ro_perms and auth_unix_ro in libvirtd.conf (Debian's defaults do)" :
				 "a read-write connection needs org.libvirt.unix.manage for this user: the "
				 "polkit rule in share/hvtrail/polkit (docs/deploy.md), or readonly = true");
		else
			snprintf(fix, sizeof fix, "is libvirtd (or virtqemud) running, and is the URI's "
				 "socket its socket?  systemctl status libvirtd.socket");
		doc_report(d, DOC_FAIL, "libvirt", fix, "[%s] %s cannot connect to %s: %s", lv->name,
			   d->daemon.name, a.uri, msg);
		break;
	case L_LIST:
		doc_report(d, DOC_FAIL, "libvirt", "with libvirt's polkit access driver the user needs "
			   "connect.search-domains and domain.getattr (the shipped rule grants them)",
			   "[%s] %s: %s", lv->name, a.uri, msg);
		break;
	case L_QEMU_DENIED:
		doc_report(d, DOC_WARN, "libvirt", "grant it with the polkit rule hvtrail ships "
			   "(docs/deploy.md, \"QEMU's own events\"), or set qemu_events = off",
			   "[%s] %s connects read-write to %s, %s: COLO events will not be seen", lv->name,
			   d->daemon.name, a.uri, msg);
		break;
	default:
		doc_report(d, DOC_FAIL, "libvirt", NULL, "[%s] the check could not run: %s", lv->name, msg);
	}
}
