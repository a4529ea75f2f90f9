/* journal_text.c - UTF-8 sanitising and UUIDs (see journal_text.h). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "journal_text.h"

static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

size_t jd_text_sanitize(struct hvt_buf *out, const char *s, size_t len, bool one_line)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
	size_t replaced = 0, start = out->len;

	hvt_buf_reserve(out, len + 1);
	while (p < end) {
		unsigned c = *p;
		if (c >= 0x20 && c < 0x7f) {        /* the common case: printable ASCII */
			p++;
			continue;
		}
		size_t k = c ? utf8_seq(p, (size_t)(end - p)) : 0;
		bool ctl = c < 0x20 || c == 0x7f;
		if (k && !(ctl && one_line)) {
			p += k;
			continue;
		}
		hvt_buf_append(out, run, (size_t)(p - run));
		if (k) {                            /* a control character in a one-line text */
			hvt_buf_append(out, " ", 1);
		} else {
			hvt_buf_append(out, replacement, 3);
			replaced++;
		}
		p += k ? k : 1;
		run = p;
	}
	hvt_buf_append(out, run, (size_t)(p - run));
	if (one_line)
		while (out->len > start && out->data[out->len - 1] == ' ')
			out->len--;
	hvt_buf_cstr(out);
	return replaced;
}

bool jd_text_plain(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = 0;

	/* Eight bytes at a time (every field of every entry passes here): any
	 * byte >= 0x80, any byte < 0x20, any byte == 0x7f. */
	for (; i + 8 <= len; i += 8) {
		uint64_t w, del;
		memcpy(&w, s + i, 8);
		del = w ^ (0x7f * ones);
		if ((w & highs) || ((w - 0x20 * ones) & ~w & highs) || ((del - ones) & ~del & highs))
			return false;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

size_t jd_text_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

bool jd_uuid_valid(const char *s, size_t len)
{
	/* 1 = a hex digit; every UUID of every libvirt record passes here */
	static const unsigned char hex[256] = {
		['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
		['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
		['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	};
	const unsigned char *p = (const unsigned char *)s;
	unsigned bad = 0;

	if (len != 36 || p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-')
		return false;
	for (size_t i = 0; i < 36; i++)
		bad |= (i == 8 || i == 13 || i == 18 || i == 23) ? 0 : hex[p[i]] ^ 1u;
	return !bad;
}
