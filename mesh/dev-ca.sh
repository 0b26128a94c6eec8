#!/usr/bin/env bash
# mesh/dev-ca.sh <dir> <identity>...
#
# The local mesh's certificate authority: <dir>/ca.crt and, per identity
# (a service account name such as "ingress" or "analytics"),
# <dir>/<identity>.crt + .key, issued by that CA. Each certificate names its
# workload the way Istio does, as the URI SAN
#   spiffe://airis.local/ns/airis/sa/<identity>
# (and the DNS name <identity>.airis.local), is valid for both TLS client
# and server use, and lives 30 days. Valid files are kept, so running it
# again only adds or renews what is missing, about to expire or not issued
# by the CA. Dev only: the CA key sits next to them.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 <dir> <identity>..." >&2; exit 2; }
dir="$1"
shift
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

# A CA that is missing or expires within a day is made anew, and with it
# every certificate it issued.
if [ ! -s ca.crt ] || [ ! -s ca.key ] || ! openssl x509 -in ca.crt -noout -checkend 86400 >/dev/null; then
  rm -f ./*.crt ./*.key ca.srl
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.crt -days 30 -subj "/O=airis-mon dev/CN=airis-mon dev CA" \
    -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

for id in "$@"; do
  case "$id" in
    *[!a-z0-9-]* | "") echo "$0: identity $id: use a-z, 0-9 and '-'" >&2; exit 2 ;;
  esac
  # Kept while issued by this CA and valid for another day.
  if [ -s "$id.crt" ] && [ -s "$id.key" ] \
     && openssl verify -CAfile ca.crt "$id.crt" >/dev/null 2>&1 \
     && openssl x509 -in "$id.crt" -noout -checkend 86400 >/dev/null; then
    continue
  fi
  ext="$(mktemp)"
  cat >"$ext" <<EXT
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=URI:spiffe://airis.local/ns/airis/sa/$id,DNS:$id.airis.local
EXT
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$id.key" -out "$id.csr" -subj "/O=airis-mon dev/CN=$id" 2>/dev/null
  openssl x509 -req -in "$id.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$id.crt" -days 30 -extfile "$ext" 2>/dev/null
  rm -f "$id.csr" "$ext"
  chmod 600 "$id.key"
done
