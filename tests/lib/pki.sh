# tests/lib/pki.sh - a throw-away PKI for the TLS tests, made with certtool
# (gnutls-bin) at test time (bash; source it, or run it: pki.sh DIR).
#
# make_pki DIR creates, each as NAME.pem + NAME.key (keys 0600):
#   ca                  the test CA
#   collector           CN/dNSName collector.test, IP SAN 127.0.0.1
#   hv1, hv2            forwarders hv1.test and hv2.test
# and the negative variants the security tests need:
#   other-ca            a second, unrelated CA
#   hv1-otherca         names hv1.test, issued by other-ca
#   hv1-expired         names hv1.test, validity ended in 2020
#   hv1-notyet          names hv1.test, valid only from 2099
#   intruder            intruder.test, issued by the good CA
#   hv1-selfsigned      names hv1.test, signs itself
#   collector-otherca   collector.test, issued by other-ca
# Keys are ECDSA P-256 (PKI_KEY_TYPE=rsa gives RSA 2048): librelp 1.11 with
# GnuTLS 3.7 accepts them for mutual TLS, and they take milliseconds to make.
# shellcheck shell=bash

# _pki_key FILE: a new private key.
_pki_key() {
	case ${PKI_KEY_TYPE:-ecdsa} in
	ecdsa) certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --no-text --outfile "$1" ;;
	rsa) certtool --generate-privkey --key-type=rsa --bits=2048 --no-text --outfile "$1" ;;
	*) echo "pki.sh: unknown PKI_KEY_TYPE '$PKI_KEY_TYPE'" >&2; return 1 ;;
	esac
}

# _pki_template FILE CN [VALIDITY] [ca]: VALIDITY is "expired", "notyet" or
# empty (from now on, 30 days); the CA templates say "ca".
_pki_template() {
	local f=$1 cn=$2 validity=${3:-} kind=${4:-leaf}
	{
		printf 'cn = "%s"\n' "$cn"
		case $validity in
		expired) printf 'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2020-12-31 00:00:00"\n' ;;
		notyet) printf 'activation_date = "2099-01-01 00:00:00"\nexpiration_date = "2099-12-31 00:00:00"\n' ;;
		ca) printf 'activation_date = "2019-01-01 00:00:00"\nexpiration_date = "2100-12-31 00:00:00"\n' ;;
		*) printf 'expiration_days = 30\n' ;;
		esac
		if [ "$kind" = ca ]; then
			printf 'ca\ncert_signing_key\ncrl_signing_key\n'
		else
			printf 'dns_name = "%s"\n' "$cn"
			[ "$cn" = collector.test ] && printf 'ip_address = "127.0.0.1"\n'
			printf 'signing_key\ntls_www_server\ntls_www_client\n'
			[ "${PKI_KEY_TYPE:-ecdsa}" = rsa ] && printf 'encryption_key\n'
		fi
	} >"$f"
}

# _pki_ca DIR NAME CN
_pki_ca() {
	_pki_key "$1/$2.key"
	_pki_template "$1/$2.tmpl" "$3" ca ca
	certtool --generate-self-signed --load-privkey "$1/$2.key" --template "$1/$2.tmpl" \
		--no-text --outfile "$1/$2.pem"
}

# _pki_leaf DIR NAME CN ISSUER [VALIDITY]; ISSUER "self" signs itself.
_pki_leaf() {
	local d=$1 name=$2 cn=$3 issuer=$4
	_pki_key "$d/$name.key"
	_pki_template "$d/$name.tmpl" "$cn" "${5:-}"
	if [ "$issuer" = self ]; then
		certtool --generate-self-signed --load-privkey "$d/$name.key" \
			--template "$d/$name.tmpl" --no-text --outfile "$d/$name.pem"
	else
		certtool --generate-certificate --load-privkey "$d/$name.key" \
			--load-ca-certificate "$d/$issuer.pem" --load-ca-privkey "$d/$issuer.key" \
			--template "$d/$name.tmpl" --no-text --outfile "$d/$name.pem"
	fi
}

make_pki() {
	local d=$1
	mkdir -p "$d"
	(
		set -e
		umask 077
		exec 3>"$d/certtool.log"
		{
			_pki_ca "$d" ca "hvtrail test CA"
			_pki_ca "$d" other-ca "some other CA"
			_pki_leaf "$d" collector collector.test ca
			_pki_leaf "$d" hv1 hv1.test ca
			_pki_leaf "$d" hv2 hv2.test ca
			_pki_leaf "$d" hv1-otherca hv1.test other-ca
			_pki_leaf "$d" hv1-expired hv1.test ca expired
			_pki_leaf "$d" hv1-notyet hv1.test ca notyet
			_pki_leaf "$d" intruder intruder.test ca
			_pki_leaf "$d" hv1-selfsigned hv1.test self
			_pki_leaf "$d" collector-otherca collector.test other-ca
		} 2>&3 >&3
	) || { echo "make_pki: certtool failed; see $d/certtool.log" >&2; return 1; }
	rm -f "$d"/*.tmpl
}

# Run directly: make the PKI in $1.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu
	make_pki "${1:?usage: pki.sh DIR}"
fi
