/* lv_snapxml.c - see lv_snapxml.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lv_snapxml.h"
#include "util.h"

#define MAX_DISKS 256
#define MAX_TEXT 4096

static bool is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The element's text, cut at MAX_TEXT (a description may be long). */
static void add_text(json_object *o, const char *key, xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);

	if (t) {
		json_object_object_add(o, key, json_object_new_string_len((const char *)t,
			(int)HVT_MIN(strlen((const char *)t), (size_t)MAX_TEXT)));
		xmlFree(t);
	}
}

static void add_attr(json_object *o, const char *key, xmlNode *n, const char *attr)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);

	if (v) {
		json_object_object_add(o, key, json_object_new_string_len((const char *)v,
			(int)HVT_MIN(strlen((const char *)v), (size_t)MAX_TEXT)));
		xmlFree(v);
	}
}

static const char *ostr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void read_disks(json_object *snap, xmlNode *disks, int *internal, int *external)
{
	json_object *arr = json_object_new_array();

	for (xmlNode *d = disks->children; d; d = d->next) {
		if (!is(d, "disk") || json_object_array_length(arr) >= MAX_DISKS)
			continue;
		json_object *o = json_object_new_object();
		add_attr(o, "disk", d, "name");
		add_attr(o, "snapshot", d, "snapshot");
		for (xmlNode *s = d->children; s; s = s->next)
			if (is(s, "source")) {
				add_attr(o, "file", s, "file");
				if (!json_object_object_get_ex(o, "file", NULL))
					add_attr(o, "file", s, "dev");
			}
		const char *how = ostr(o, "snapshot");
		/* a disk without the attribute takes the snapshot's default, which
		 * for a <disks> entry written by libvirt is always explicit */
		if (how && strcmp(how, "internal") == 0)
			(*internal)++;
		else if (how && (strcmp(how, "external") == 0 || strcmp(how, "manual") == 0))
			(*external)++;
		json_object_array_add(arr, o);
	}
	json_object_object_add(snap, "disks", arr);
}

static json_object *read_snapshot(xmlNode *root)
{
	json_object *o = json_object_new_object();
	int internal = 0, external = 0;

	for (xmlNode *n = root->children; n; n = n->next) {
		if (is(n, "name")) {
			add_text(o, "name", n);
		} else if (is(n, "state")) {
			add_text(o, "state", n);
		} else if (is(n, "description")) {
			add_text(o, "description", n);
		} else if (is(n, "creationTime")) {
			xmlChar *t = xmlNodeGetContent(n);
			char *end = NULL;
			long long s = t ? strtoll((const char *)t, &end, 10) : -1;
			if (t && end && *end == '\0' && s >= 0)
				json_object_object_add(o, "created", json_object_new_int64(s));
			xmlFree(t);
		} else if (is(n, "memory")) {
			add_attr(o, "memory", n, "snapshot");
		} else if (is(n, "parent")) {
			for (xmlNode *p = n->children; p; p = p->next)
				if (is(p, "name"))
					add_text(o, "parent", p);
		} else if (is(n, "disks")) {
			read_disks(o, n, &internal, &external);
		}
	}
	const char *mem = ostr(o, "memory");
	if (mem && strcmp(mem, "internal") == 0)
		internal++;
	else if (mem && strcmp(mem, "external") == 0)
		external++;
	json_object_object_add(o, "location", json_object_new_string(
		internal && external ? "mixed" : external ? "external" : internal ? "internal" : "none"));
	return o;
}

json_object *lv_snapxml_parse(const char *xml, size_t len, char *err, size_t errsize)
{
	if (len > LV_SNAPXML_MAX) {
		snprintf(err, errsize, "snapshot XML of %zu bytes exceeds %u", len, LV_SNAPXML_MAX);
		return NULL;
	}
	/* no network, no entity expansion, no DTD loading; quiet */
	xmlDoc *doc = xmlReadMemory(xml, (int)len, "snapshot.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		snprintf(err, errsize, "not well-formed XML");
		return NULL;
	}
	xmlNode *root = xmlDocGetRootElement(doc);
	json_object *o = NULL;
	if (!root || !is(root, "domainsnapshot")) {
		snprintf(err, errsize, "not a <domainsnapshot>");
	} else {
		o = read_snapshot(root);
		if (!ostr(o, "name")) {
			snprintf(err, errsize, "<domainsnapshot> without a <name>");
			json_object_put(o);
			o = NULL;
		}
	}
	xmlFreeDoc(doc);
	return o;
}
