/* fuzz_lv_snapxml.c - libFuzzer harness for the snapshot XML reader: the
 * XML comes from libvirtd, over the network for a qemu+tls:// URI.  Every
 * snapshot it accepts must have a name and serialise to JSON.  Build:
 * ./configure --enable-fuzzers CC=clang; run:
 * plugins/in_libvirt/fuzz_lv_snapxml -max_total_time=60. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>

#include "lv_snapxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	json_object *o, *v;

	o = lv_snapxml_parse((const char *)data, size, err, sizeof err);
	if (!o)
		return 0;
	if (!json_object_object_get_ex(o, "name", &v) || !json_object_to_json_string(o))
		abort();
	json_object_put(o);
	return 0;
}
