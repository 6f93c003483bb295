#!/usr/bin/env bash
# gen-certs.sh - a demo certificate authority and one certificate per node,
# made with the openssl command line.  For tests and demos only: a real
# deployment uses certificates from the organisations' own PKI.
#
#   scripts/gen-certs.sh OUTDIR [CA_NAME]
#
# Writes OUTDIR/ca.pem (+ ca.key), gemeente.pem/.key (client and server use,
# name gemeente.udclink.test) and cbs.pem/.key (name cbs.udclink.test, also
# valid for 127.0.0.1 and localhost).  Private keys get mode 0600.
set -euo pipefail

out=${1:?usage: gen-certs.sh OUTDIR [CA_NAME]}
ca_name=${2:-udclink demo CA}
days=${UDC_CERT_DAYS:-825}
mkdir -p "$out"
cd "$out"
umask 077

openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=udclink demo/CN=$ca_name" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem

node_cert() {
	local name=$1 dns=$2
	openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
	openssl req -new -key "$name.key" -subj "/O=udclink demo/CN=$dns" -out "$name.csr"
	cat > "$name.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:$dns,DNS:localhost,IP:127.0.0.1
EXT
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
		-days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
	chmod 0600 "$name.key"
}

node_cert gemeente gemeente.udclink.test
node_cert cbs cbs.udclink.test
chmod 0644 ca.pem gemeente.pem cbs.pem
rm -f ca.srl
echo "certificates in $out: ca.pem, gemeente.pem/.key, cbs.pem/.key"
