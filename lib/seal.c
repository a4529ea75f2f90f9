/* seal.c - see seal.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>

#include "event.h"
#include "seal.h"
#include "timefmt.h"
#include "util.h"

struct hvt_signer {
	gnutls_privkey_t key;
	char *cert_pem;
};

void hvt_seal_clear(struct hvt_seal *s)
{
	free(s->cert_pem);
	free(s->sig_b64);
	memset(s, 0, sizeof *s);
}

static void signed_text(const struct hvt_seal *s, struct hvt_buf *b)
{
	char t[40];

	hvt_format_rfc3339(s->time_us, t, sizeof t);
	hvt_buf_printf(b, "hvtrail-seal-v1\nhost=%s\nstream=%s\nseq=%" PRIu64 "\nhash=%s\ntime=%s\nfinal=%d\n",
		       s->host, s->stream, s->seq, s->hash, t, s->final ? 1 : 0);
}

struct hvt_signer *hvt_signer_open(const char *cert_file, const char *key_file, char *err, size_t errsize)
{
	struct hvt_signer *sg = hvt_calloc(1, sizeof *sg);
	gnutls_datum_t key = { NULL, 0 };
	size_t len;
	int rc;

	if (hvt_read_file(cert_file, 1 << 20, &sg->cert_pem, &len) < 0) {
		snprintf(err, errsize, "cannot read %s", cert_file);
		goto fail;
	}
	if ((rc = gnutls_load_file(key_file, &key)) < 0) {
		snprintf(err, errsize, "cannot read %s: %s", key_file, gnutls_strerror(rc));
		goto fail;
	}
	gnutls_privkey_init(&sg->key);
	rc = gnutls_privkey_import_x509_raw(sg->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_free(key.data);
	if (rc < 0) {
		snprintf(err, errsize, "%s: %s", key_file, gnutls_strerror(rc));
		goto fail;
	}
	return sg;
fail:
	hvt_signer_free(sg);
	return NULL;
}

void hvt_signer_free(struct hvt_signer *sg)
{
	if (!sg)
		return;
	if (sg->key)
		gnutls_privkey_deinit(sg->key);
	free(sg->cert_pem);
	free(sg);
}

int hvt_seal_sign(struct hvt_signer *sg, struct hvt_seal *s, char *err, size_t errsize)
{
	struct hvt_buf text = { 0 };
	gnutls_datum_t data, sig = { NULL, 0 }, b64 = { NULL, 0 };
	int rc;

	signed_text(s, &text);
	data.data = (unsigned char *)text.data;
	data.size = (unsigned)text.len;
	rc = gnutls_privkey_sign_data(sg->key, GNUTLS_DIG_SHA256, 0, &data, &sig);
	hvt_buf_free(&text);
	if (rc < 0) {
		snprintf(err, errsize, "signing failed: %s", gnutls_strerror(rc));
		return -1;
	}
	rc = gnutls_base64_encode2(&sig, &b64);
	gnutls_free(sig.data);
	if (rc < 0) {
		snprintf(err, errsize, "base64 failed: %s", gnutls_strerror(rc));
		return -1;
	}
	free(s->sig_b64);
	s->sig_b64 = hvt_strndup((char *)b64.data, b64.size);
	gnutls_free(b64.data);
	free(s->cert_pem);
	s->cert_pem = hvt_strdup(sg->cert_pem);
	return 0;
}

char *hvt_seal_to_json(const struct hvt_seal *s)
{
	struct hvt_buf b = { 0 };
	char t[40];

	hvt_format_rfc3339(s->time_us, t, sizeof t);
	hvt_buf_append_str(&b, "{\"host\":");
	hvt_json_escape(&b, s->host);
	hvt_buf_append_str(&b, ",\"stream\":");
	hvt_json_escape(&b, s->stream);
	hvt_buf_printf(&b, ",\"seq\":%" PRIu64 ",\"hash\":\"%s\",\"time\":\"%s\",\"final\":%s,\"cert\":", s->seq,
		       s->hash, t, s->final ? "true" : "false");
	hvt_json_escape(&b, s->cert_pem ? s->cert_pem : "");
	hvt_buf_append_str(&b, ",\"sig\":");
	hvt_json_escape(&b, s->sig_b64 ? s->sig_b64 : "");
	hvt_buf_append_str(&b, "}");
	return b.data;
}

static bool take_str(json_object *o, const char *k, char *out, size_t size)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= size)
		return false;
	hvt_strlcpy(out, json_object_get_string(v), size);
	return true;
}

int hvt_seal_from_json(const char *json, size_t len, struct hvt_seal *s, char *err, size_t errsize)
{
	json_tokener *tok = json_tokener_new_ex(4);
	json_object *o = NULL, *v;
	char t[64];
	int rc = -1;

	memset(s, 0, sizeof *s);
	if (!hvt_utf8_valid(json, len))
		goto bad;
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object))
		goto bad;
	if (!take_str(o, "host", s->host, sizeof s->host) || !take_str(o, "stream", s->stream, sizeof s->stream) ||
	    !take_str(o, "hash", s->hash, sizeof s->hash) || !take_str(o, "time", t, sizeof t) ||
	    hvt_parse_rfc3339(t, &s->time_us) < 0)
		goto bad;
	if (!json_object_object_get_ex(o, "seq", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		goto bad;
	s->seq = (uint64_t)json_object_get_int64(v);
	s->final = json_object_object_get_ex(o, "final", &v) && json_object_get_boolean(v);
	if (!json_object_object_get_ex(o, "cert", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) > 16384)
		goto bad;
	s->cert_pem = hvt_strdup(json_object_get_string(v));
	if (!json_object_object_get_ex(o, "sig", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) > 4096)
		goto bad;
	s->sig_b64 = hvt_strdup(json_object_get_string(v));
	rc = 0;
bad:
	if (rc < 0) {
		snprintf(err, errsize, "not a well-formed seal");
		hvt_seal_clear(s);
	}
	if (o)
		json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

/* CN and dNSName SANs, comma-separated; and whether one may speak for host. */
static bool names_of(gnutls_x509_crt_t crt, const char *host, char *const *map, char *out, size_t size)
{
	char buf[256];
	size_t len;
	bool ok = false;
	struct hvt_buf b = { 0 };
	char *names[34];
	int n = 0;

	len = sizeof buf;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) == 0)
		names[n++] = hvt_strdup(buf);
	for (unsigned i = 0; n < 33; i++) {
		len = sizeof buf;
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, NULL);
		if (t < 0)
			break;
		if (t == GNUTLS_SAN_DNSNAME)
			names[n++] = hvt_strdup(buf);
	}
	for (int i = 0; i < n; i++) {
		hvt_buf_printf(&b, "%s%s", i ? "," : "", names[i]);
		if (strcmp(names[i], host) == 0)
			ok = true;
		for (char *const *m = map; m && *m; m++) {
			const char *colon = strchr(*m, ':');
			if (colon && (size_t)(colon - *m) == strlen(names[i]) &&
			    strncmp(*m, names[i], (size_t)(colon - *m)) == 0 && strcmp(colon + 1, host) == 0)
				ok = true;
		}
		free(names[i]);
	}
	hvt_strlcpy(out, b.data ? b.data : "", size);
	hvt_buf_free(&b);
	return ok;
}

/* Validity was checked at the seal's own time, so a seal stays verifiable
 * after its certificate expires: the chain check ignores the clock. */
static int check_chain(gnutls_x509_crt_t crt, const char *ca_file, char *err, size_t errsize)
{
	gnutls_x509_trust_list_t tl;
	unsigned status = 0;
	int rc;

	gnutls_x509_trust_list_init(&tl, 0);
	rc = gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (rc <= 0) {
		snprintf(err, errsize, "cannot load the CA %s", ca_file);
		gnutls_x509_trust_list_deinit(tl, 1);
		return -1;
	}
	rc = gnutls_x509_trust_list_verify_crt2(tl, &crt, 1, NULL, 0, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status,
						 NULL);
	gnutls_x509_trust_list_deinit(tl, 1);
	if (rc < 0 || status) {
		gnutls_datum_t why = { NULL, 0 };
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		snprintf(err, errsize, "the signer's certificate does not chain to %s: %s", ca_file,
			 why.data ? (char *)why.data : gnutls_strerror(rc));
		gnutls_free(why.data);
		return -1;
	}
	return 0;
}

int hvt_seal_verify(const struct hvt_seal *s, const char *ca_file, char *const *host_map,
		    char *names, size_t names_size, char *fpr, size_t fpr_size, char *err, size_t errsize)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	struct hvt_buf text = { 0 };
	gnutls_datum_t pem, sig = { NULL, 0 }, b64;
	int rc = -1;

	names[0] = fpr[0] = '\0';
	if (!s->cert_pem || !s->sig_b64) {
		snprintf(err, errsize, "the seal carries no certificate or signature");
		return -1;
	}
	gnutls_x509_crt_init(&crt);
	pem.data = (unsigned char *)s->cert_pem;
	pem.size = (unsigned)strlen(s->cert_pem);
	if (gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) < 0) {
		snprintf(err, errsize, "the seal's certificate does not parse");
		goto out;
	}
	unsigned char digest[32];
	size_t dlen = sizeof digest;
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, digest, &dlen) == 0 && fpr_size > 64)
		hvt_hex(digest, dlen, fpr);
	time_t at = (time_t)(s->time_us / 1000000);
	if (at < gnutls_x509_crt_get_activation_time(crt) || at > gnutls_x509_crt_get_expiration_time(crt)) {
		snprintf(err, errsize, "the signer's certificate was not valid at the seal's time");
		goto out;
	}
	if (ca_file && check_chain(crt, ca_file, err, errsize) < 0)
		goto out;
	if (!names_of(crt, s->host, host_map, names, names_size)) {
		snprintf(err, errsize, "signed by a certificate for %s, which may not speak for host %s", names, s->host);
		goto out;
	}
	b64.data = (unsigned char *)s->sig_b64;
	b64.size = (unsigned)strlen(s->sig_b64);
	if (gnutls_base64_decode2(&b64, &sig) < 0) {
		snprintf(err, errsize, "the signature is not base64");
		goto out;
	}
	gnutls_pubkey_init(&pub);
	if (gnutls_pubkey_import_x509(pub, crt, 0) < 0) {
		snprintf(err, errsize, "no public key in the signer's certificate");
		goto out;
	}
	signed_text(s, &text);
	gnutls_datum_t data = { (unsigned char *)text.data, (unsigned)text.len };
	int pk = gnutls_pubkey_get_pk_algorithm(pub, NULL);
	gnutls_sign_algorithm_t algo = gnutls_pk_to_sign((gnutls_pk_algorithm_t)pk, GNUTLS_DIG_SHA256);
	if (gnutls_pubkey_verify_data2(pub, algo, 0, &data, &sig) < 0) {
		snprintf(err, errsize, "the signature does not match (altered, or made with another key)");
		goto out;
	}
	rc = 0;
out:
	hvt_buf_free(&text);
	gnutls_free(sig.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return rc;
}
