#!/usr/bin/env bash
# Writes a mesh root and two SPIFFE workload certificates (EC P-256, the URI SAN as the only SAN, as jmesh's CA
# issues them) plus an RSA key for signing JWTs, into DIR: root.pem, client.pem/client-key.pem
# (spiffe://cluster.local/ns/default/sa/client), server.pem/server-key.pem (.../sa/server), jwt-key.pem.
set -euo pipefail
dir="${1:?usage: mesh-certs.sh DIR}"
mkdir -p "$dir"
cd "$dir"
[[ -f root.pem && -f jwt-key.pem ]] && { echo "$dir"; exit 0; }
openssl ecparam -name prime256v1 -genkey -noout -out root-key.pem 2>/dev/null
openssl req -x509 -new -key root-key.pem -sha256 -days 365 -subj "/O=cluster.local" -out root.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for who in client server; do
  openssl ecparam -name prime256v1 -genkey -noout -out "$who-key.ec.pem" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$who-key.ec.pem" -out "$who-key.pem"
  openssl req -new -key "$who-key.pem" -subj "/" -out "$who.csr" 2>/dev/null
  cat > "$who.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=critical,URI:spiffe://cluster.local/ns/default/sa/$who
EXT
  openssl x509 -req -in "$who.csr" -CA root.pem -CAkey root-key.pem -CAcreateserial -days 30 -sha256 \
    -extfile "$who.ext" -out "$who.pem" 2>/dev/null
done
openssl genrsa -out jwt-key.pem 2048 2>/dev/null
echo "$dir"
