/* journal_map_machined.c - systemd-machined registering and dropping a
 * machine: libvirt registers every guest as "qemu-<domid>-<name>".
 *
 * machined logs with MESSAGE_ID SD_MESSAGE_MACHINE_START/STOP and the
 * machine name in NAME=; without those (an older machined, a relayed
 * message) the text "New machine X." / "Machine X terminated." is used. */
#include "config.h"

#include <string.h>

#include "journal_map_priv.h"

#define MID_MACHINE_START "24d8d4452573402496068381a6312df2"
#define MID_MACHINE_STOP "58432bd3bace477cb514b56381b8a758"

static bool from_machined(const struct jd_entry *e)
{
	/* _COMM is cut to 15 characters by the kernel */
	return jd_is(e, JD_SYSLOG_IDENTIFIER, "systemd-machined") || jd_is(e, JD_COMM, "systemd-machine");
}

/* The machine name between prefix and suffix of the message text. */
static bool name_from_text(const struct jd_field *m, const char *prefix, const char *suffix,
			   const char **name, size_t *len)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (!m || m->len <= pl + sl || memcmp(m->value, prefix, pl) != 0 ||
	    memcmp(m->value + m->len - sl, suffix, sl) != 0)
		return false;
	*name = m->value + pl;
	*len = m->len - pl - sl;
	return true;
}

/* 1 = registered, 0 = unregistered, -1 = neither; sets the machine name. */
static int classify(const struct jd_entry *e, const char **name, size_t *len)
{
	const struct jd_field *mid = jd_get(e, JD_MESSAGE_ID), *nf = jd_get(e, JD_NAME);
	const struct jd_field *m = jd_get(e, JD_MESSAGE);
	int what = -1;

	if (jd_is(e, JD_MESSAGE_ID, MID_MACHINE_START))
		what = 1;
	else if (jd_is(e, JD_MESSAGE_ID, MID_MACHINE_STOP))
		what = 0;
	if (nf && what >= 0) {
		*name = nf->value;
		*len = nf->len;
		return what;
	}
	if (mid && what < 0)
		return -1;              /* some other machined message */
	if (name_from_text(m, "New machine ", ".", name, len))
		return 1;
	if (name_from_text(m, "Machine ", " terminated.", name, len))
		return 0;
	return -1;
}

struct hvt_event *jd_map_machined(const struct jd_entry *e, const struct jd_map_opts *o)
{
	const char *name;
	size_t len;
	int what;

	if (!from_machined(e) || !jd_privileged(e) || (what = classify(e, &name, &len)) < 0)
		return NULL;
	struct hvt_event *ev = jd_event_new(e, o, what ? "vm.registered" : "vm.unregistered",
					    jd_priority(e, 6));
	struct jd_vm_id id = { "", "" };
	const struct jd_field *leader = jd_get(e, JD_LEADER);

	jd_vm_from_machine_name(name, len, &id);
	jd_event_set_vm(ev, &id);
	jd_data_text(ev, o, "machine", name, len);
	if (leader)
		jd_data_number(ev, o, "leader", leader->value, leader->len);
	jd_data_message(ev, e);
	struct hvt_buf b = { 0 };
	hvt_buf_append_str(&b, what ? "machine registered with systemd-machined: " :
			   "machine unregistered from systemd-machined: ");
	hvt_buf_append(&b, name, len);
	jd_set_msg(ev, b.data, b.len, JD_MSG_MAX_DEFAULT);
	hvt_buf_free(&b);
	return ev;
}
