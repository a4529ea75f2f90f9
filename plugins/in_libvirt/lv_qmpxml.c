/* lv_qmpxml.c - see lv_qmpxml.h. */
#include "config.h"

#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lv_qmpxml.h"

static bool is_qemu(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 && n->ns &&
	       n->ns->href && strcmp((const char *)n->ns->href, LV_QEMU_XML_NS) == 0;
}

static bool in_place(const char *path, size_t len, char *const *places)
{
	for (char *const *p = places; *p; p++) {
		size_t pl = strlen(*p);
		if (pl && (*p)[pl - 1] == '/') {
			/* directly inside the directory: a name, no further '/' */
			if (len > pl && strncmp(path, *p, pl) == 0 && !memchr(path + pl, '/', len - pl))
				return true;
		} else if (len == pl && strncmp(path, *p, pl) == 0) {
			return true;
		}
	}
	return false;
}

/* One argument: its comma-separated options, a socket path in "unix:PATH"
 * (-qmp, -mon chardev shorthand) or "path=PATH" (-chardev socket). */
static bool arg_names_place(const char *v, char *const *places)
{
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *path = NULL;
		size_t plen = 0;
		if (n > 5 && strncmp(v, "unix:", 5) == 0)
			path = v + 5, plen = n - 5;
		else if (n > 5 && strncmp(v, "path=", 5) == 0)
			path = v + 5, plen = n - 5;
		if (path && in_place(path, plen, places))
			return true;
		v += n;
		if (*v)
			v++;
	}
	return false;
}

bool lv_qmpxml_monitor(const char *xml, size_t len, char *const *places)
{
	if (!places || !*places || len > LV_QMPXML_MAX)
		return false;
	xmlDoc *doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return false;
	bool found = false;
	xmlNode *root = xmlDocGetRootElement(doc);
	for (xmlNode *c = root ? root->children : NULL; c && !found; c = c->next) {
		if (!is_qemu(c, "commandline"))
			continue;
		for (xmlNode *a = c->children; a && !found; a = a->next) {
			if (!is_qemu(a, "arg"))
				continue;
			xmlChar *v = xmlGetProp(a, (const xmlChar *)"value");
			if (v) {
				found = arg_names_place((const char *)v, places);
				xmlFree(v);
			}
		}
	}
	xmlFreeDoc(doc);
	return found;
}
