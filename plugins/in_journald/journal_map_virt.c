/* journal_map_virt.c - libvirt's audit records: kernel audit VIRT_* records
 * (_TRANSPORT=audit) and libvirt's own log copy of them (LIBVIRT_SOURCE=
 * conf.domain_audit).
 *
 * VIRT_CONTROL is the lifecycle (libvirt's virDomainAuditStart/Stop): op=start
 * with reason booted, migrated (the incoming side of a migration), restored,
 * from-snapshot (a snapshot revert); op=stop with reason shutdown, destroyed,
 * crashed, migrated (the outgoing side), saved, failed, from-snapshot,
 * daemon.  The record's result (res=success|failed, or success=yes|no in the
 * log copy) says whether it worked. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "journal_map_priv.h"

enum virt_kind { VK_CONTROL, VK_RESOURCE, VK_MACHINE_ID, VK_OTHER };

struct virt_rec {
	const struct jd_map_opts *o;
	enum virt_kind kind;
	const char *record;             /* "audit" or "libvirt-log" */
	struct jd_kvset kv;
	bool success;
	struct jd_vm_id id;
	const struct jd_field *audit_type;
};

bool jd_entry_is_virt_audit(const struct jd_entry *e)
{
	const struct jd_field *t = jd_get(e, JD_AUDIT_TYPE_NAME);

	return t && jd_is(e, JD_TRANSPORT, "audit") && strncmp(t->value, "VIRT_", 5) == 0;
}

static bool kv_eq(const struct jd_kv *kv, const char *s)
{
	return kv && kv->vlen == strlen(s) && memcmp(kv->val, s, kv->vlen) == 0;
}

/* Decode and copy one value into a NUL-terminated buffer. */
static const char *kv_text(const struct virt_rec *r, const char *key, bool may_be_number,
			   char *buf, size_t size, size_t *len)
{
	const struct jd_kv *kv = jd_kv_get(&r->kv, key);

	*len = 0;
	if (!kv)
		return NULL;
	*len = jd_audit_value(kv, may_be_number, buf, size);
	return buf;
}

static void rec_identity(struct virt_rec *r)
{
	char name[512];
	size_t n;
	const struct jd_kv *u = jd_kv_get(&r->kv, "uuid");

	if (kv_text(r, "vm", false, name, sizeof name, &n) && !memchr(name, '\0', n))
		jd_vm_set_name(&r->id, name, n);
	if (u)
		jd_vm_set_uuid(&r->id, u->val, u->vlen);
}

/* Parse an entry into a record, or false when it is not one. */
static bool parse_record(const struct jd_entry *e, const struct jd_map_opts *o, struct virt_rec *r)
{
	const struct jd_field *m = jd_get(e, JD_MESSAGE);

	memset(r, 0, sizeof *r);
	r->o = o;
	if (!m)
		return false;
	if (jd_entry_is_virt_audit(e)) {
		const char *part;
		size_t plen;
		r->audit_type = jd_get(e, JD_AUDIT_TYPE_NAME);
		r->record = "audit";
		jd_audit_user_part(m->value, m->len, &part, &plen);
		jd_kv_parse(part, plen, &r->kv);
		r->success = jd_kv_is(&r->kv, "res", "success") || jd_kv_is(&r->kv, "res", "1");
		const char *t = r->audit_type->value;
		r->kind = strcmp(t, "VIRT_CONTROL") == 0 ? VK_CONTROL :
			  strcmp(t, "VIRT_RESOURCE") == 0 ? VK_RESOURCE :
			  strcmp(t, "VIRT_MACHINE_ID") == 0 ? VK_MACHINE_ID : VK_OTHER;
	} else if (o->libvirt_audit_events && jd_is(e, JD_LIBVIRT_SOURCE, "conf.domain_audit") &&
		   jd_privileged(e)) {
		r->record = "libvirt-log";
		jd_kv_parse(m->value, m->len, &r->kv);
		if (!jd_kv_get(&r->kv, "success"))
			return false;
		r->success = jd_kv_is(&r->kv, "success", "yes");
		r->kind = jd_kv_get(&r->kv, "op") ? VK_CONTROL :
			  jd_kv_get(&r->kv, "resrc") ? VK_RESOURCE :
			  jd_kv_get(&r->kv, "model") ? VK_MACHINE_ID : VK_OTHER;
		if (r->kind == VK_OTHER)
			return false;
	} else {
		return false;
	}
	rec_identity(r);
	return true;
}

static struct hvt_event *rec_event(const struct jd_entry *e, const struct virt_rec *r,
				   const char *type, int severity)
{
	struct hvt_event *ev = jd_event_new(e, r->o, type, severity);
	const struct jd_kv *virt = jd_kv_get(&r->kv, "virt");
	const struct jd_field *aid = jd_get(e, JD_AUDIT_ID);

	jd_event_set_vm(ev, &r->id);
	jd_data_const(ev, r->o, "record", r->record);
	jd_data_bool(ev, r->o, "success", r->success);
	if (virt)
		jd_data_text(ev, r->o, "virt", virt->val, virt->vlen);
	if (aid)
		jd_data_number(ev, r->o, "audit_id", aid->value, aid->len);
	jd_data_message(ev, e);
	return ev;
}

static const char *vm_label(const struct virt_rec *r)
{
	return r->id.name[0] ? r->id.name : r->id.uuid[0] ? r->id.uuid : "(unnamed)";
}

/* op/reason/result -> type, severity and what it means. */
static const char *control_type(const char *op, const char *reason, bool ok, int *sev,
				const char **migration)
{
	*migration = NULL;
	*sev = ok ? HVT_SEV_INFO : HVT_SEV_WARNING;
	if (strcmp(op, "start") == 0) {
		if (strcmp(reason, "migrated") == 0) {
			*migration = "incoming";
			return ok ? "vm.started" : "migration.incoming.failed";
		}
		if (strcmp(reason, "from-snapshot") == 0)
			return ok ? "snapshot.reverted" : "vm.start_failed";
		return ok ? "vm.started" : "vm.start_failed";
	}
	if (strcmp(op, "stop") == 0) {
		if (strcmp(reason, "migrated") == 0)
			*migration = "outgoing";
		/* an expected exit is a notice; a crash is a warning */
		if (ok && strcmp(reason, "crashed") != 0 && strcmp(reason, "failed") != 0)
			*sev = HVT_SEV_NOTICE;
		else
			*sev = HVT_SEV_WARNING;
		return ok ? "vm.stopped" : "vm.stop_failed";
	}
	return "vm.control";
}

/* One readable line per lifecycle event. */
static void control_msg(struct hvt_event *ev, const struct virt_rec *r, const char *type,
			const char *op, const char *reason)
{
	const char *vm = vm_label(r), *why = reason[0] ? reason : "no reason given";

	if (strcmp(type, "vm.started") == 0)
		jd_set_msg_parts(ev, "VM ", vm, " started (", strcmp(reason, "migrated") == 0 ?
				 "arrived by incoming migration" : why, ")", NULL);
	else if (strcmp(type, "vm.stopped") == 0)
		jd_set_msg_parts(ev, "VM ", vm, " stopped (", strcmp(reason, "migrated") == 0 ?
				 "migrated away" : why, ")", NULL);
	else if (strcmp(type, "snapshot.reverted") == 0)
		jd_set_msg_parts(ev, "VM ", vm, " reverted to a snapshot and runs from it", NULL);
	else if (strcmp(type, "migration.incoming.failed") == 0)
		jd_set_msg_parts(ev, "VM ", vm, ": incoming migration failed (libvirt could not start it)", NULL);
	else if (strcmp(type, "vm.start_failed") == 0)
		jd_set_msg_parts(ev, "VM ", vm, " failed to start (", why, ")", NULL);
	else if (strcmp(type, "vm.stop_failed") == 0)
		jd_set_msg_parts(ev, "VM ", vm, " failed to stop (", why, ")", NULL);
	else
		jd_set_msg_parts(ev, "VM ", vm, ": ", op[0] ? op : "control", r->success ? " succeeded (" :
				 " failed (", why, ")", NULL);
}

static struct hvt_event *map_control(const struct jd_entry *e, const struct virt_rec *r)
{
	char op[32] = "", reason[64] = "";
	size_t n;
	const char *migration;
	int sev;

	kv_text(r, "op", false, op, sizeof op, &n);
	kv_text(r, "reason", false, reason, sizeof reason, &n);
	const char *type = control_type(op, reason, r->success, &sev, &migration);
	struct hvt_event *ev = rec_event(e, r, type, sev);
	const struct jd_kv *pid = jd_kv_get(&r->kv, "vm-pid");

	jd_data_text(ev, r->o, "op", op, strlen(op));
	jd_data_text(ev, r->o, "reason", reason, strlen(reason));
	if (migration)
		jd_data_const(ev, r->o, "migration", migration);
	if (strcmp(reason, "from-snapshot") == 0)
		jd_data_bool(ev, r->o, "snapshot_revert", true);
	if (pid && !kv_eq(pid, "0"))
		jd_data_number(ev, r->o, "vm_pid", pid->val, pid->vlen);
	control_msg(ev, r, type, op, reason);
	return ev;
}

static struct hvt_event *map_resource(const struct jd_entry *e, const struct virt_rec *r)
{
	char res[32] = "", reason[32] = "", key[48], oldv[512] = "", newv[512] = "";
	size_t n, on = 0, nn = 0;

	kv_text(r, "resrc", false, res, sizeof res, &n);
	kv_text(r, "reason", false, reason, sizeof reason, &n);
	/* old-<resrc>= and new-<resrc>= (res is at most 31 bytes, key has room) */
	size_t rl = strlen(res);
	memcpy(key, "old-", 4);
	memcpy(key + 4, res, rl + 1);
	kv_text(r, key, true, oldv, sizeof oldv, &on);
	memcpy(key, "new-", 4);
	kv_text(r, key, true, newv, sizeof newv, &nn);

	struct hvt_event *ev = rec_event(e, r, "vm.resource", r->success ? 6 : 4);
	jd_data_text(ev, r->o, "resource", res, strlen(res));
	jd_data_text(ev, r->o, "reason", reason, strlen(reason));
	jd_data_number(ev, r->o, "old", oldv, on);
	jd_data_number(ev, r->o, "new", newv, nn);
	/* oldv/newv may hold NULs (decoded): they end the text there */
	jd_set_msg_parts(ev, "VM ", vm_label(r), ": ", res[0] ? res : "resource", " ",
			 reason[0] ? reason : "change", r->success ? ": " : " FAILED: ", oldv, " -> ", newv, NULL);
	return ev;
}

static struct hvt_event *map_machine_id(const struct jd_entry *e, const struct virt_rec *r)
{
	char model[64] = "", vmctx[256] = "", imgctx[256] = "";
	size_t mn, vn, in;

	kv_text(r, "model", false, model, sizeof model, &mn);
	kv_text(r, "vm-ctx", false, vmctx, sizeof vmctx, &vn);
	kv_text(r, "img-ctx", false, imgctx, sizeof imgctx, &in);
	struct hvt_event *ev = rec_event(e, r, "vm.security_label", r->success ? 6 : 4);
	jd_data_text(ev, r->o, "model", model, mn);
	jd_data_text(ev, r->o, "vm_ctx", vmctx, vn);
	jd_data_text(ev, r->o, "img_ctx", imgctx, in);
	jd_set_msg_parts(ev, "VM ", vm_label(r), ": security label (", model[0] ? model : "?", ") ", vmctx,
			 NULL);
	return ev;
}

/* A VIRT_* record type without a meaning of its own: a message that still
 * names its VM. */
static struct hvt_event *map_other(const struct jd_entry *e, const struct virt_rec *r,
				   const struct jd_map_opts *o)
{
	const struct jd_field *m = jd_get(e, JD_MESSAGE);
	struct hvt_event *ev = rec_event(e, r, "journal.message", r->success ? 6 : 4);

	jd_set_msg(ev, m->value, m->len, o->max_msg);
	return ev;
}

struct hvt_event *jd_map_virt(const struct jd_entry *e, const struct jd_map_opts *o)
{
	struct virt_rec r;

	if (!parse_record(e, o, &r))
		return NULL;
	switch (r.kind) {
	case VK_CONTROL: return map_control(e, &r);
	case VK_RESOURCE: return map_resource(e, &r);
	case VK_MACHINE_ID: return map_machine_id(e, &r);
	default: return map_other(e, &r, o);
	}
}
