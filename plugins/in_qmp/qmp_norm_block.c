/* qmp_norm_block.c - snapshots that QEMU does not announce.
 *
 * blockdev-snapshot-sync and blockdev-snapshot (the libvirt way, after
 * blockdev-create jobs and blockdev-add) put a new overlay on top of a disk
 * without any event; HMP savevm/delvm and blockdev-snapshot-internal-sync
 * change a disk's internal snapshots silently too.  query-block shows both:
 * per device the active layer, its backing chain (nested "backing-image")
 * and the active image's internal snapshots.  Comparing two answers tells
 *   - overlays added on top of the old chain   -> snapshot.external.created
 *   - internal snapshot tags added / removed    -> snapshot.created / .deleted
 *   - any other chain change, unless a block job
 *     just ended (commit), COLO runs, or the
 *     disk is under block replication           -> block.chain.changed
 * The answers come from the periodic poll (block_poll_interval), after
 * block jobs end, after snapshot jobs conclude (to learn the tag, which the
 * job events do not carry) and on (re)connect. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"

static void bdev_free(struct qmp_bdev *d)
{
	free(d->key);
	free(d->node);
	for (int i = 0; i < d->depth; i++)
		free(d->chain[i]);
	free(d->chain);
	for (int i = 0; i < d->nsnaps; i++)
		free(d->snaps[i]);
	free(d->snaps);
	free(d->snap_vmstate);
	memset(d, 0, sizeof *d);
}

void block_free(struct qmp_blockmap *bm)
{
	for (int i = 0; i < bm->n; i++)
		bdev_free(&bm->dev[i]);
	free(bm->dev);
	memset(bm, 0, sizeof *bm);
}

void block_reset(struct qmp_vm *vm)
{
	block_free(&vm->blk);
	vm->block_explained = false;
}

/* ---- reading query-block --------------------------------------------------- */

static void read_snaps(struct qmp_bdev *d, json_object *image)
{
	json_object *list;

	if (!json_object_object_get_ex(image, "snapshots", &list) ||
	    !json_object_is_type(list, json_type_array))
		return;
	size_t n = HVT_MIN(json_object_array_length(list), (size_t)QMP_MAX_SNAPS);
	d->snaps = hvt_calloc(n ? n : 1, sizeof *d->snaps);
	d->snap_vmstate = hvt_calloc(n ? n : 1, sizeof *d->snap_vmstate);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(list, i);
		const char *name = jstr(s, "name");
		if (!name)
			continue;
		d->snaps[d->nsnaps] = qmp_strdup_max(name, 256);
		jint(s, "vm-state-size", &d->snap_vmstate[d->nsnaps]);
		d->nsnaps++;
	}
}

static void read_chain(struct qmp_bdev *d, json_object *image)
{
	d->chain = hvt_calloc(QMP_MAX_CHAIN, sizeof *d->chain);
	for (json_object *img = image; img && d->depth < QMP_MAX_CHAIN;) {
		const char *f = jstr(img, "filename");
		d->chain[d->depth++] = qmp_strdup_max(f ? f : "?", 4096);
		if (!json_object_object_get_ex(img, "backing-image", &img) ||
		    !json_object_is_type(img, json_type_object))
			break;
	}
}

static bool read_bdev(json_object *info, struct qmp_bdev *d)
{
	json_object *ins, *image;
	const char *dev = jstr(info, "device"), *qdev = jstr(info, "qdev");

	if (!json_object_object_get_ex(info, "inserted", &ins) ||
	    !json_object_is_type(ins, json_type_object))
		return false;   /* empty drive */
	const char *node = jstr(ins, "node-name");
	const char *key = dev && *dev ? dev : qdev && *qdev ? qdev : node;
	if (!key)
		return false;
	d->key = qmp_strdup_max(key, 512);
	d->node = node ? qmp_strdup_max(node, 256) : NULL;
	if (json_object_object_get_ex(ins, "image", &image) &&
	    json_object_is_type(image, json_type_object)) {
		read_chain(d, image);
		read_snaps(d, image);
	}
	return true;
}

static void read_map(json_object *ret, struct qmp_blockmap *bm)
{
	size_t n = HVT_MIN(json_object_array_length(ret), (size_t)QMP_MAX_BDEVS);

	bm->dev = hvt_calloc(n ? n : 1, sizeof *bm->dev);
	for (size_t i = 0; i < n; i++)
		if (read_bdev(json_object_array_get_idx(ret, i), &bm->dev[bm->n]))
			bm->n++;
	bm->valid = true;
}

static struct qmp_bdev *find_dev(struct qmp_blockmap *bm, const char *key)
{
	for (int i = 0; i < bm->n; i++)
		if (strcmp(bm->dev[i].key, key) == 0)
			return &bm->dev[i];
	return NULL;
}

static int find_snap(const struct qmp_bdev *d, const char *tag)
{
	for (int i = 0; i < d->nsnaps; i++)
		if (d->snaps[i] && strcmp(d->snaps[i], tag) == 0)
			return i;
	return -1;
}

/* ---- comparing ------------------------------------------------------------- */

static json_object *chain_json(const struct qmp_bdev *d)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < d->depth; i++)
		json_object_array_add(a, json_object_new_string(d->chain[i]));
	return a;
}

static bool same_chain(const struct qmp_bdev *a, const struct qmp_bdev *b)
{
	if (a->depth != b->depth)
		return false;
	for (int i = 0; i < a->depth; i++)
		if (strcmp(a->chain[i], b->chain[i]) != 0)
			return false;
	return true;
}

/* How many layers were put on top of old (0 when it is not that). */
static int overlays_added(const struct qmp_bdev *old, const struct qmp_bdev *now)
{
	int k = now->depth - old->depth;

	if (k <= 0 || old->depth == 0)
		return 0;
	for (int i = 0; i < old->depth; i++)
		if (strcmp(now->chain[k + i], old->chain[i]) != 0)
			return 0;
	return k;
}

/* A disk under COLO's block replication: QEMU names such layers by their
 * options (json:{"driver": "replication", ...}), and replication rebuilds
 * them by itself, also after COLO ended (its internal commit of the
 * secondary's active and hidden images finishes later, without an event). */
static bool replicated(const struct qmp_bdev *d)
{
	for (int i = 0; i < d->depth; i++)
		if (hvt_str_has_prefix(d->chain[i], "json:") &&
		    strstr(d->chain[i], "\"driver\": \"replication\""))
			return true;
	return false;
}

static void mark_late(struct hvt_event *ev, struct pend *p)
{
	if (p && (p->kind == PK_RESYNC || p->kind == PK_CONTACT)) {
		ev->flags |= HVT_EV_LATE;
		data_str(ev, "observed", "resync");
	}
}

static void report_overlays(struct qmp_vm *vm, struct pend *p, const struct qmp_bdev *now, int k,
			    long long now_us)
{
	/* oldest first: the deepest new layer was created first */
	for (int j = k - 1; j >= 0; j--) {
		struct hvt_event *ev =
			norm_event(vm, "snapshot.external.created", HVT_SEV_INFO, now_us);
		data_str(ev, "device", now->key);
		data_str(ev, "overlay", now->chain[j]);
		data_str(ev, "backing", now->chain[j + 1]);
		if (j == 0)
			data_str(ev, "node", now->node);
		data_int(ev, "chain_depth", now->depth - j);
		data_str(ev, "detected_by", "block-poll");
		mark_late(ev, p);
		hvt_event_set_msg(ev, "VM %s: external snapshot of %s: new overlay %s on top of %s",
				  qmp_vm_name(vm), now->key, now->chain[j], now->chain[j + 1]);
		outq_put(vm, p, ev);
	}
}

static void report_chain_change(struct qmp_vm *vm, struct pend *p, const struct qmp_bdev *old,
				const struct qmp_bdev *now, long long now_us)
{
	struct hvt_event *ev = norm_event(vm, "block.chain.changed", HVT_SEV_INFO, now_us);

	data_str(ev, "device", now->key);
	hvt_event_data_add(ev, "before", chain_json(old));
	hvt_event_data_add(ev, "after", chain_json(now));
	data_str(ev, "node", now->node);
	data_str(ev, "detected_by", "block-poll");
	mark_late(ev, p);
	hvt_event_set_msg(ev, "VM %s: disk %s now runs on %s (was %s, chain depth %d -> %d)",
			  qmp_vm_name(vm), now->key, now->depth ? now->chain[0] : "?",
			  old->depth ? old->chain[0] : "?", old->depth, now->depth);
	outq_put(vm, p, ev);
}

/* Internal snapshot tags: a job slot takes the tag for its own event; any
 * other answer reports the change itself (HMP savevm/delvm, *-internal-sync). */
static void snaps_diff(struct qmp_vm *vm, struct pend *p, const struct qmp_bdev *old,
		       const struct qmp_bdev *now, long long now_us, json_object *seen)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct qmp_bdev *a = pass == 0 ? now : old, *b = pass == 0 ? old : now;
		for (int i = 0; i < a->nsnaps; i++) {
			const char *tag = a->snaps[i];
			if (!tag || find_snap(b, tag) >= 0 ||
			    json_object_object_get_ex(seen, tag, NULL))
				continue;
			json_object_object_add(seen, tag, NULL);
			if (p && p->kind == PK_JOB_END) {
				pend_ctx_set(p, "tag", json_object_new_string(tag));
				if (pass == 0 && a->snap_vmstate[i] > 0)
					pend_ctx_set(p, "vm_state_size",
						     json_object_new_int64(a->snap_vmstate[i]));
				continue;
			}
			struct hvt_event *ev =
				norm_event(vm, pass == 0 ? "snapshot.created" : "snapshot.deleted",
					   HVT_SEV_INFO, now_us);
			data_str(ev, "tag", tag);
			data_str(ev, "device", a->key);
			if (pass == 0 && a->snap_vmstate[i] > 0)
				data_int(ev, "vm_state_size", a->snap_vmstate[i]);
			data_str(ev, "detected_by", "block-poll");
			mark_late(ev, p);
			hvt_event_set_msg(ev, "VM %s: internal snapshot '%s' %s on %s (seen in the "
					  "block graph)", qmp_vm_name(vm), tag,
					  pass == 0 ? "created" : "deleted", a->key);
			outq_put(vm, p, ev);
		}
	}
}

/* While a snapshot job runs its tag change belongs to the job: keep the old
 * tags so the job's own answer still sees the difference. */
static void keep_old_snaps(struct qmp_bdev *now, struct qmp_bdev *old)
{
	for (int i = 0; i < now->nsnaps; i++)
		free(now->snaps[i]);
	free(now->snaps);
	free(now->snap_vmstate);
	now->snaps = old->snaps;
	now->snap_vmstate = old->snap_vmstate;
	now->nsnaps = old->nsnaps;
	old->snaps = NULL;
	old->snap_vmstate = NULL;
	old->nsnaps = 0;
}

static void compare(struct qmp_vm *vm, struct pend *p, struct qmp_blockmap *nb, long long now_us)
{
	bool explained = vm->block_explained;
	/* COLO's block replication changes the graph by itself (see
	 * colo_migration_completed): follow it silently while COLO lasts */
	bool colo = colo_busy(vm);
	bool job_owns_snaps = jobs_snapshot_running(vm) && !(p && p->kind == PK_JOB_END);
	json_object *seen = json_object_new_object();

	vm->block_explained = false;
	for (int i = 0; i < nb->n; i++) {
		struct qmp_bdev *now = &nb->dev[i];
		struct qmp_bdev *old = find_dev(&vm->blk, now->key);
		if (!old)
			continue;   /* hot-plugged: nothing to compare with */
		bool quiet = colo || replicated(old) || replicated(now);
		int k = quiet ? 0 : overlays_added(old, now);
		if (k > 0)
			report_overlays(vm, p, now, k, now_us);
		else if (!same_chain(old, now) && !explained && !quiet)
			report_chain_change(vm, p, old, now, now_us);
		if (job_owns_snaps)
			keep_old_snaps(now, old);
		else
			snaps_diff(vm, p, old, now, now_us, seen);
	}
	json_object_put(seen);
}

void block_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		    long long now_us)
{
	struct qmp_blockmap nb = { 0 };
	bool job_end = p && p->kind == PK_JOB_END && json_object_get_boolean(pend_ctx_get(p, "holds_snaps"));

	if (!err && json_object_is_type(ret, json_type_array)) {
		read_map(ret, &nb);
		if (vm->blk.valid)
			compare(vm, p, &nb, now_us);
		block_free(&vm->blk);
		vm->blk = nb;
	}
	if (job_end) {
		pend_ctx_set(p, "holds_snaps", json_object_new_boolean(0));
		if (vm->snap_ends_open > 0)
			vm->snap_ends_open--;
	}
}
