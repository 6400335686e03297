#!/bin/sh
# Creates a test CA and a server certificate for the Kubernetes stand-in.
#
# Usage: make_certs.sh OUTDIR
#
# Writes OUTDIR/ca.pem, ca-key.pem, server.pem and server-key.pem (RSA 2048, SHA-256).
# The CA has basicConstraints critical CA:TRUE and keyUsage keyCertSign; the server
# certificate has SAN IP:127.0.0.1 and DNS:localhost, basicConstraints CA:FALSE,
# keyUsage digitalSignature,keyEncipherment and extendedKeyUsage serverAuth. rustls
# (webpki) rejects certificates without these extensions, and ignores the subject CN.
set -eu

out=${1:?usage: make_certs.sh OUTDIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no

[dn]
CN = k8s-standin

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -config "$work/openssl.cnf" -extensions ca -subj "/CN=k8s-standin test CA" \
    -keyout "$out/ca-key.pem" -out "$out/ca.pem" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -config "$work/openssl.cnf" -subj "/CN=localhost" \
    -keyout "$out/server-key.pem" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$work/openssl.cnf" -extensions server -out "$out/server.pem" 2>/dev/null
chmod 600 "$out/ca-key.pem" "$out/server-key.pem"
