/* qmp_outq.c - the normaliser's ordered output queue.
 *
 * Every event goes through a slot.  A slot that asked queries waits until
 * each answer (or its error) came back; slots behind it wait too, so events
 * leave in the order QEMU reported them even when one of them needs figures
 * first.  The queue is bounded: past QMP_MAX_PEND slots the head is released
 * without its answers (they are then ignored when they arrive). */
#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "qmp_norm_priv.h"

static unsigned new_tag(struct qmp_vm *vm)
{
	unsigned t = vm->next_tag++;

	if (vm->next_tag == 0)
		vm->next_tag = 1;
	return t;
}

static void pend_free(struct pend *p)
{
	hvt_event_free(p->ev);
	for (size_t i = 0; i < p->nextra; i++)
		hvt_event_free(p->extra[i]);
	free(p->extra);
	free(p->job_id);
	if (p->ctx)
		json_object_put(p->ctx);
	free(p);
}

struct pend *outq_add(struct qmp_vm *vm, struct hvt_event *ev)
{
	struct pend *p = hvt_calloc(1, sizeof *p);

	p->tag = new_tag(vm);
	p->ev = ev;
	if (vm->tail)
		vm->tail->next = p;
	else
		vm->head = p;
	vm->tail = p;
	vm->npend++;
	if (vm->npend > QMP_MAX_PEND && vm->head->waiting) {
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
		hvt_log_ratelimited(&rl, LOG_WARNING, "in_qmp: VM %s: %u events wait for QEMU's "
				    "answers; releasing the oldest without them", qmp_vm_name(vm),
				    vm->npend);
		vm->head->waiting = 0;
		vm->head->incomplete = true;
	}
	return p;
}

void outq_ask(struct qmp_vm *vm, struct pend *p, enum qmp_query q)
{
	unsigned tag = p ? p->tag : 0;

	if (p && (p->waiting & QBIT(q)))
		return;   /* one answer per kind per slot is enough */
	if (!vm->connected || !vm->ops->query(vm->arg, q, tag)) {
		if (p)
			p->incomplete = true;
		return;
	}
	if (p)
		p->waiting |= QBIT(q);
	else if (q == QMP_Q_BLOCK)
		vm->block_polls++;
}

struct pend *outq_find(struct qmp_vm *vm, unsigned tag)
{
	for (struct pend *p = vm->head; p; p = p->next)
		if (p->tag == tag)
			return p;
	return NULL;
}

void pend_ctx_set(struct pend *p, const char *key, json_object *v)
{
	if (!p->ctx)
		p->ctx = json_object_new_object();
	json_object_object_add(p->ctx, key, v);
}

json_object *pend_ctx_get(struct pend *p, const char *key)
{
	json_object *v;

	if (!p || !p->ctx || !json_object_object_get_ex(p->ctx, key, &v))
		return NULL;
	return v;
}

static void push_extra(struct pend *p, struct hvt_event *ev)
{
	p->extra = hvt_realloc(p->extra, sizeof *p->extra * (p->nextra + 1));
	p->extra[p->nextra++] = ev;
}

void outq_put(struct qmp_vm *vm, struct pend *p, struct hvt_event *ev)
{
	if (p)
		push_extra(p, ev);
	else
		outq_add(vm, ev);
}

static void emit_one(struct qmp_vm *vm, struct hvt_event *ev)
{
	vm->dirty = true;
	if (!ev->vm_name && !ev->vm_uuid)   /* else it is about an earlier process (state_gone) */
		hvt_event_set_vm(ev, qmp_vm_name(vm), vm->uuid);
	if (!ev->source)
		hvt_event_set_str(&ev->source, "qmp");
	vm->ops->emit(vm->arg, ev);
}

static void emit_slot(struct qmp_vm *vm, struct pend *p)
{
	if (p->finish) {
		pend_finish_fn f = p->finish;
		p->finish = NULL;
		f(vm, p);
	}
	/* the queue's last event: the state is now the state after it */
	bool last_slot = !p->next;
	if (p->ev) {
		vm->settling = last_slot && !p->nextra;
		emit_one(vm, p->ev);
		p->ev = NULL;
	}
	for (size_t i = 0; i < p->nextra; i++) {
		vm->settling = last_slot && i + 1 == p->nextra;
		emit_one(vm, p->extra[i]);
		p->extra[i] = NULL;
	}
	vm->settling = false;
	p->nextra = 0;
}

void outq_flush(struct qmp_vm *vm)
{
	/* emit() may re-enter us (pause handling in the host); the outer call
	 * keeps going, the inner one has nothing to do. */
	if (vm->flushing)
		return;
	vm->flushing = true;
	while (vm->head && !vm->head->waiting) {
		struct pend *p = vm->head;
		emit_slot(vm, p);
		vm->head = p->next;
		if (!vm->head)
			vm->tail = NULL;
		vm->npend--;
		pend_free(p);
	}
	vm->flushing = false;
}

void outq_release_all(struct qmp_vm *vm)
{
	vm->snap_ends_open = 0;       /* their block answers will not come */
	for (struct pend *p = vm->head; p; p = p->next) {
		if (p->waiting) {
			p->waiting = 0;
			p->incomplete = true;
		}
	}
}

void outq_free(struct qmp_vm *vm)
{
	while (vm->head) {
		struct pend *p = vm->head;
		vm->head = p->next;
		pend_free(p);
	}
	vm->tail = NULL;
	vm->npend = 0;
}
