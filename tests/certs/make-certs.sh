#!/usr/bin/env bash
# Generate the mesh test PKI (ECDSA P-256, OpenSSL 3 CLI only).
#
# Usage: tests/certs/make-certs.sh OUTDIR
#
# Creates in OUTDIR:
#   ca.pem / ca-key.pem                 mesh root CA
#   NAME.pem / NAME-key.pem             leaves signed by ca for
#                                       web, backend, reviews, other, evil
#                                       (URI SAN spiffe://cluster.local/ns/default/sa/NAME)
#   rogue-ca.pem / rogue-ca-key.pem     an unrelated CA
#   rogue.pem / rogue-key.pem           leaf from rogue-ca claiming sa/web
#
# Idempotent: files that already exist are kept, so running twice is cheap
# and does not change certificates other processes already loaded.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

out=$1
trust_domain=${WEFT_TRUST_DOMAIN:-cluster.local}
namespace=${WEFT_NAMESPACE:-default}
mkdir -p "$out"
cd "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# make_ca NAME CN -- sets fresh_NAME=1 when (re)created, so its leaves are reissued
make_ca() {
    local name=$1 cn=$2
    local var=fresh_${name//-/_}
    printf -v "$var" 0
    if [[ -s $name.pem && -s $name-key.pem ]]; then
        return 0
    fi
    printf -v "$var" 1
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tmp/$name-key.pem" -out "$tmp/$name.pem" \
        -days 3650 -subj "/O=Weft Test/CN=$cn" \
        -addext "basicConstraints=critical,CA:true" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2>/dev/null
    mv "$tmp/$name-key.pem" "$name-key.pem"
    mv "$tmp/$name.pem" "$name.pem"
}

# make_leaf NAME SA CA
make_leaf() {
    local name=$1 sa=$2 ca=$3
    local fresh=fresh_${ca//-/_}
    if [[ ${!fresh} == 0 && -s $name.pem && -s $name-key.pem ]] &&
        openssl x509 -in "$name.pem" -noout -checkend 3600 >/dev/null 2>&1; then
        return 0
    fi
    local uri="spiffe://$trust_domain/ns/$namespace/sa/$sa"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tmp/$name-key.pem" -out "$tmp/$name.csr" \
        -subj "/O=Weft Test/CN=$sa.$namespace" 2>/dev/null
    cat >"$tmp/$name.ext" <<EOF
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=URI:$uri
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
    openssl x509 -req -in "$tmp/$name.csr" -CA "$ca.pem" -CAkey "$ca-key.pem" \
        -CAcreateserial -CAserial "$tmp/$ca.srl" -days 1 -sha256 \
        -extfile "$tmp/$name.ext" -out "$tmp/$name.pem" 2>/dev/null
    mv "$tmp/$name-key.pem" "$name-key.pem"
    mv "$tmp/$name.pem" "$name.pem"
}

make_ca ca "Weft Test Mesh Root CA"
for n in web backend reviews other evil; do
    make_leaf "$n" "$n" ca
done

make_ca rogue-ca "Rogue CA"
make_leaf rogue web rogue-ca

chmod 600 ./*-key.pem
