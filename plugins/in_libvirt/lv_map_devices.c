/* lv_map_devices.c - what happens to a running VM's hardware: resets,
 * devices hot-plugged and unplugged, disk I/O errors, the watchdog.
 *
 * A guest with a failing disk reports an I/O error per request, so
 * block.io_error is bounded per domain (io_error_burst per 10 s) and the
 * next one reported says how many were left out. */
#include "config.h"

#include <libvirt/libvirt.h>

#include "lv_map_priv.h"

static const char *vm_name(const struct lv_dom *d)
{
	return d->v.name ? d->v.name : d->v.uuid;
}

static const char *io_action(int a)
{
	static const char *const n[] = { "none", "pause", "report" };
	return a >= 0 && a <= 2 ? n[a] : "unknown";
}

static const char *watchdog_action(int a)
{
	static const char *const n[] = { "none", "pause", "reset", "poweroff", "shutdown", "debug",
					 "inject-nmi" };
	return a >= 0 && a <= 6 ? n[a] : "unknown";
}

static bool io_budget(struct lv_map *m, struct lv_dom *d, long long now)
{
	if (now - d->io_win_ts >= IO_ERROR_WINDOW_US) {
		d->io_win_ts = now;
		d->io_in_win = 0;
	}
	if (d->io_in_win >= m->o.io_error_burst) {
		d->io_dropped++;
		m->st.dropped_io_errors++;
		return false;
	}
	d->io_in_win++;
	return true;
}

void map_device(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev = NULL;
	const char *alias = o->s1 ? o->s1 : "?";

	switch (o->kind) {
	case LV_OBS_REBOOT:
		ev = dom_event(m, d, "vm.reset", SEV_INFO, o->ts_us);
		ev_libvirt(ev, "reboot", NULL);
		hvt_event_set_msg(ev, "VM %s was reset", vm_name(d));
		break;
	case LV_OBS_DEVICE_ADDED:
		ev = dom_event(m, d, "device.added", SEV_INFO, o->ts_us);
		ev_libvirt(ev, "device-added", NULL);
		ev_str(ev, "device", o->s1);
		hvt_event_set_msg(ev, "VM %s: device %s added", vm_name(d), alias);
		break;
	case LV_OBS_DEVICE_REMOVED:
		ev = dom_event(m, d, "device.removed", SEV_INFO, o->ts_us);
		ev_libvirt(ev, "device-removed", NULL);
		ev_str(ev, "device", o->s1);
		hvt_event_set_msg(ev, "VM %s: device %s removed", vm_name(d), alias);
		break;
	case LV_OBS_DEVICE_REMOVAL_FAILED:
		ev = dom_event(m, d, "device.removal_failed", SEV_WARNING, o->ts_us);
		ev_libvirt(ev, "device-removal-failed", NULL);
		ev_str(ev, "device", o->s1);
		hvt_event_set_msg(ev, "VM %s: device %s could not be removed", vm_name(d), alias);
		break;
	case LV_OBS_IO_ERROR:
		if (!io_budget(m, d, o->ts_us))
			return;
		ev = dom_event(m, d, "block.io_error", SEV_WARNING, o->ts_us);
		ev_libvirt(ev, "io-error", NULL);
		ev_str(ev, "path", o->s1);
		ev_str(ev, "device", o->s2);
		ev_str(ev, "action", io_action(o->n));
		ev_str(ev, "reason", o->s3);
		if (d->io_dropped) {
			ev_int(ev, "dropped_before", d->io_dropped);
			d->io_dropped = 0;
		}
		hvt_event_set_msg(ev, "VM %s: I/O error on %s (%s), action %s", vm_name(d),
				  o->s2 ? o->s2 : "?", o->s3 ? o->s3 : "?", io_action(o->n));
		break;
	case LV_OBS_WATCHDOG:
		ev = dom_event(m, d, "vm.watchdog", SEV_WARNING, o->ts_us);
		ev_libvirt(ev, "watchdog", NULL);
		ev_str(ev, "action", watchdog_action(o->n));
		hvt_event_set_msg(ev, "VM %s: the watchdog fired (action %s)", vm_name(d),
				  watchdog_action(o->n));
		break;
	default:
		return;
	}
	dom_send(m, d, ev);
}
