/* fuzz_qmp_parse.c - libFuzzer harness for the QMP stream parser
 * (plugins/in_qmp/qmp_parse.c, as linked from libqmp.la).
 *
 * Input: byte 0 picks the read size (1..64 bytes per push, as a socket
 * may deliver them), byte 1 the max_line limit (64 .. ~9.5 KB); the rest
 * is what a QEMU (or anything posing as one) writes to the monitor.
 * Checked beyond "no crash, no leak, no UB": the framer never holds more
 * than max_line bytes once drained, every message has a valid kind, and a
 * classified message's borrowed pointers are consistent with its kind. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct qmp_msg *m, size_t max_line)
{
	switch (m->kind) {
	case QMP_MSG_GREETING:
	case QMP_MSG_REPLY:
		if (!m->obj)
			abort();
		break;
	case QMP_MSG_ERROR:
		if (!m->obj || !m->err_class || !m->err_desc)
			abort();
		break;
	case QMP_MSG_EVENT:
		if (!m->obj || !m->event)
			abort();
		break;
	case QMP_MSG_GARBAGE:
		if (m->obj || !m->reason)
			abort();
		break;
	case QMP_MSG_OVERSIZE:
		if (m->obj || m->len <= max_line)
			abort();
		break;
	default:
		abort();
	}
	(void)qmp_msg_kind_name(m->kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct qmp_framer f;
	struct qmp_msg m;

	if (!once++)
		hvt_log_set_level(LOG_EMERG);
	if (size < 2)
		return 0;
	size_t step = (size_t)data[0] % 64 + 1, max_line = 64 + (size_t)data[1] * 37;
	const uint8_t *p = data + 2;
	size_t left = size - 2;

	qmp_framer_init(&f, max_line);
	while (left) {
		size_t n = left < step ? left : step;
		qmp_framer_push(&f, p, n);
		p += n;
		left -= n;
		while (qmp_framer_next(&f, &m)) {
			check(&m, max_line);
			qmp_msg_clear(&m);
		}
		if (qmp_framer_pending(&f) > max_line)
			abort();      /* the bound the input plugin relies on */
	}
	qmp_framer_free(&f);

	/* the classifier on its own, on the whole input as one line */
	qmp_parse_line((const char *)data, size, &m);
	if (m.kind == QMP_MSG_OVERSIZE)
		abort();              /* only the framer reports oversize */
	qmp_msg_clear(&m);
	return 0;
}
