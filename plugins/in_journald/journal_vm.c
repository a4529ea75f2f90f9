/* journal_vm.c - a VM's name and UUID in journal text (see journal_text.h).
 *
 * The QMP input names a VM by query-name (libvirt's -name guest=NAME) and
 * query-uuid; these helpers recover the same two values from what libvirt,
 * systemd-machined and QEMU write, so both inputs' events line up per VM. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "journal_text.h"

void jd_vm_set_name(struct jd_vm_id *id, const char *s, size_t len)
{
	/* the name is an identity the collector indexes: text, or nothing */
	if (len == 0 || len >= sizeof id->name || !hvt_utf8_valid(s, len))
		return;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return;
	memcpy(id->name, s, len);
	id->name[len] = '\0';
}

void jd_vm_set_uuid(struct jd_vm_id *id, const char *s, size_t len)
{
	if (!jd_uuid_valid(s, len))
		return;
	for (size_t i = 0; i < 36; i++)     /* QMP's query-uuid is lower case */
		id->uuid[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
	id->uuid[36] = '\0';
}

/* Find needle in text[0..len) at a word start (start of text or after a
 * space, '(' or ':'), case-insensitive; returns the byte after it. */
static const char *find_word(const char *text, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	char lo = (char)tolower((unsigned char)needle[0]), up = (char)toupper((unsigned char)needle[0]);

	for (size_t i = 0; i + n <= len; i++) {
		/* cheap first-character test: this runs over every libvirt message */
		if ((text[i] != lo && text[i] != up) || strncasecmp(text + i, needle, n) != 0)
			continue;
		if (i == 0 || text[i - 1] == ' ' || text[i - 1] == '(' || text[i - 1] == ':')
			return text + i + n;
	}
	return NULL;
}

/* The value after needle up to the closing quote q (or white space when q
 * is 0). */
static bool take_after(const char *text, size_t len, const char *needle, char q,
		       const char **v, size_t *vlen)
{
	const char *p = find_word(text, len, needle), *end = text + len, *s;

	if (!p)
		return false;
	for (s = p; s < end && (q ? *s != q : (*s != ' ' && *s != ',' && *s != '\'')); s++)
		;
	if (q && s == end)
		return false;
	*v = p;
	*vlen = (size_t)(s - p);
	return *vlen > 0;
}

void jd_vm_from_libvirt_text(const char *text, size_t len, struct jd_vm_id *id)
{
	static const struct {
		const char *needle;
		char quote;
	} names[] = {
		{ "name='", '\'' },            /* Domain id=3 name='vm-web01' uuid=... is tainted */
		{ "vm='", '\'' },              /* QEMU unexpectedly closed the monitor (vm='x') */
		{ "vm=\"", '"' },              /* libvirt's audit log lines: vm="x" */
		{ "domain '", '\'' },          /* Requested operation is not valid: domain 'x' ... */
		{ "matching name '", '\'' },   /* Domain not found: no domain with matching name 'x' */
		{ "of domain ", 0 },           /* connection which controls migration of domain x was closed */
	};
	static const struct {
		const char *needle;
		char quote;
	} uuids[] = {
		{ "uuid=", 0 },
		{ "uuid '", '\'' },
	};
	const char *v;
	size_t vlen;

	for (size_t i = 0; i < sizeof names / sizeof names[0] && !id->name[0]; i++)
		if (take_after(text, len, names[i].needle, names[i].quote, &v, &vlen))
			jd_vm_set_name(id, v, vlen);
	for (size_t i = 0; i < sizeof uuids / sizeof uuids[0] && !id->uuid[0]; i++)
		if (take_after(text, len, uuids[i].needle, uuids[i].quote, &v, &vlen))
			jd_vm_set_uuid(id, v, vlen);
}

/* QEMU option values escape a comma by doubling it. */
static void set_qemu_name(struct jd_vm_id *id, const char *v, size_t len)
{
	char buf[sizeof id->name];
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < sizeof buf; i++) {
		if (v[i] == ',') {
			if (i + 1 < len && v[i + 1] == ',') {
				buf[n++] = ',';
				i++;
				continue;
			}
			break;
		}
		buf[n++] = v[i];
	}
	jd_vm_set_name(id, buf, n);
}

void jd_vm_from_qemu_cmdline(const char *cmdline, size_t len, struct jd_vm_id *id)
{
	const char *p = cmdline, *end = cmdline + len;

	while (p < end) {
		const char *tok = p;
		while (p < end && *p != ' ')
			p++;
		size_t tlen = (size_t)(p - tok);
		while (p < end && *p == ' ')
			p++;
		const char *arg = p;
		while (p < end && *p != ' ')
			p++;
		size_t alen = (size_t)(p - arg);
		p = arg;                /* the argument is the next token's start */
		if (alen == 0)
			break;
		if (tlen == 5 && memcmp(tok, "-name", 5) == 0 && !id->name[0]) {
			const char *comma = memchr(arg, ',', alen);
			size_t first = comma ? (size_t)(comma - arg) : alen;
			/* -name guest=X,..., or the implied key: -name X,process=Y */
			if (alen > 6 && memcmp(arg, "guest=", 6) == 0)
				set_qemu_name(id, arg + 6, alen - 6);
			else if (!memchr(arg, '=', first))
				set_qemu_name(id, arg, alen);
		} else if (tlen == 5 && memcmp(tok, "-uuid", 5) == 0 && !id->uuid[0]) {
			jd_vm_set_uuid(id, arg, alen);
		}
	}
}

void jd_vm_from_machine_name(const char *machine, size_t len, struct jd_vm_id *id)
{
	static const char *const drivers[] = { "qemu-", "lxc-" };

	for (size_t d = 0; d < sizeof drivers / sizeof drivers[0]; d++) {
		size_t dl = strlen(drivers[d]), i = dl;
		if (len <= dl || memcmp(machine, drivers[d], dl) != 0)
			continue;
		while (i < len && machine[i] >= '0' && machine[i] <= '9')
			i++;
		if (i > dl && i + 1 < len && machine[i] == '-') {
			jd_vm_set_name(id, machine + i + 1, len - i - 1);
			return;
		}
	}
	jd_vm_set_name(id, machine, len);
}
