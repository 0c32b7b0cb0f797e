# shellcheck shell=bash
# The TLS captures (sourced by ../make.sh): tls13, tls12 and tls_weak, each with its key log
# (<name>.keys, NSS SSLKEYLOGFILE format), the decrypted transactions (<name>.expected.tsv) and one
# row per TLS connection (<name>.expected-tls.tsv). `make.sh tls` regenerates only these three.
#
# Servers: nginx (tools/tls*.nginx.conf.template, the JSON API of tools/tls-api.nginx.inc) with
# certificates from a private CA that make_pki creates on every run (fresh keys, fixed names,
# serials and validity dates). Clients: curl, Python `requests` and `http.client`, `openssl
# s_client`; every one writes its TLS secrets to the key log (SSLKEYLOGFILE; s_client -keylogfile)
# and what it saw of each connection to the TLS client log (tools/tls_client.py).
# finish_<name> fails unless tshark, decrypting with the key log, finds exactly the clients'
# request lines, and unless the capture's handshakes agree with what the clients saw.

ALL+=(tls13 tls12 tls_weak tls_h2)
GROUP[tls]="tls13 tls12 tls_weak tls_h2"

# The curl -w format of the TLS captures: clients.py's, plus the local port and curl's exit code.
TLS_CURL_W='curl\t%{method}\t%{url}\t%{response_code}\t%{size_upload}\t%{size_download}\t%{num_connects}\t%{local_port}\t%{exitcode}\n'

# Outside the namespace, once: the programs and Python packages the TLS captures need.
prereq_tls() {
    local c
    for c in openssl tshark; do
        command -v "$c" >/dev/null || die "$c not found (DEBIAN_FRONTEND=noninteractive apt-get install -y openssl tshark)"
    done
    # requests: one of the clients; ja4plus (and its scapy): the JA4/JA4S reference.
    if ! python3 -c 'import requests, ja4plus' 2>/dev/null; then
        log "installing the Python packages requests and ja4plus"
        python3 -m pip install -q requests ja4plus 2>/dev/null ||
            python3 -m pip install -q --break-system-packages requests ja4plus
    fi
}
prereq_tls13() { prereq_tls; }
prereq_tls12() { prereq_tls; }
prereq_tls_weak() { prereq_tls; }
prereq_tls_h2() { prereq_tls; }

# A private CA and the certificates of the scenarios, in directory $1. New keys on every run;
# names, serials (from 0x1000, in this order) and validity dates are fixed.
make_pki() {
    local d=$1 n
    mkdir -p "$d/db"
    : >"$d/db/index.txt"
    echo 1000 >"$d/db/serial"
    cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
dir = $d
database = \$dir/db/index.txt
serial = \$dir/db/serial
new_certs_dir = \$dir/db
default_md = sha256
policy = any
unique_subject = no
preserve = yes
copy_extensions = none
email_in_dn = no
[any]
organizationName = optional
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[selfsigned_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
EOF
    # name subject extensions start end [self]
    issue() {
        local name=$1 subj=$2 ext=$3 start=$4 end=$5 self=${6:-}
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/$name.key" 2>/dev/null
        openssl req -new -config "$d/ca.cnf" -key "$d/$name.key" -subj "$subj" -out "$d/$name.csr"
        local signer=(-cert "$d/ca.pem" -keyfile "$d/ca.key")
        [[ -z $self ]] || signer=(-selfsign -keyfile "$d/$name.key")
        openssl ca -batch -notext -config "$d/ca.cnf" "${signer[@]}" -in "$d/$name.csr" -extensions "$ext" \
            -startdate "$start" -enddate "$end" -out "$d/$name.pem" 2>>"$d/ca.log" ||
            die "openssl ca failed for $name: $(cat "$d/ca.log")"
    }
    local O="/O=shadowtap captures" from=20240101000000Z to=20340101000000Z
    SAN=DNS:ca.invalid issue ca "$O/CN=shadowtap captures test CA" ca_ext $from $to self
    SAN=DNS:api.tls.test issue api "$O/CN=api.tls.test" server_ext $from $to
    SAN=DNS:mtls.tls.test issue mtls "$O/CN=mtls.tls.test" server_ext $from $to
    SAN=DNS:legacy.tls.test issue legacy "$O/CN=legacy.tls.test" server_ext $from $to
    SAN=DNS:www.other.test issue other "$O/CN=www.other.test" server_ext $from $to
    SAN=DNS:client.invalid issue client "$O/CN=client-42" client_ext $from $to
    # Self-signed and expired (valid during 2020 only).
    SAN=DNS:expired.tls.test issue expired "$O/CN=expired.tls.test" selfsigned_ext 20200101000000Z 20210101000000Z self
}

# nginx with tools/<template>, the PKI in $WORK/pki; waits for the ports given.
start_tls_nginx() {
    local template=$1 port
    shift
    make_pki "$WORK/pki"
    mkdir -p "$WORK/tmp"
    sed -e "s|@WORK@|$WORK|g" -e "s|@PKI@|$WORK/pki|g" -e "s|@TOOLS@|$TOOLS|g" \
        "$TOOLS/$template" >"$WORK/nginx.conf"
    start_server nginx nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
    for port in "$@"; do wait_listen "$port"; done
}

tls_env() {
    PKI=$WORK/pki
    export SSLKEYLOGFILE=$WORK/keys.log TLS_CLIENT_LOG=$WORK/tls-client.log
    : >"$SSLKEYLOGFILE"
    : >"$TLS_CLIENT_LOG"
    BEARER=$(python3 "$TOOLS/tls_client.py" bearer)
    CURL_N=0
}

# tls_curl LABEL [--fail-ok] CURL-ARGS...: one curl run (-v, its -w lines on stdout), recorded
# in the client logs. With --fail-ok, a transfer without a response (a refused certificate) is
# expected.
tls_curl() {
    local label=$1 fail_ok=() rc=0
    shift
    if [[ ${1:-} == --fail-ok ]]; then
        fail_ok=(--fail-ok)
        shift
    fi
    CURL_N=$((CURL_N + 1))
    local t=$WORK/curl-$CURL_N
    curl -v "$@" >"$t.w" 2>"$t.trace" || rc=$?
    [[ $rc -eq 0 || ${#fail_ok[@]} -gt 0 ]] || die "curl ($label) failed with $rc: $(tail -n 3 "$t.trace")"
    python3 "$TOOLS/tls_client.py" curl --label "$label" --w "$t.w" --trace "$t.trace" "${fail_ok[@]}"
}

# The number of connections the last tls_curl opened.
curl_connections() {
    awk -F'\t' '{s += $7} END {print s}' "$WORK/curl-$CURL_N.w"
}

# tls_s_client LABEL [--early] REQUEST-TEXT S_CLIENT-ARGS...: one `openssl s_client` connection
# to api.tls.test:8443 that sends the request (HTTP/1.1, Connection: close; with --early as TLS 1.3
# early data) and prints the answer.
tls_s_client() {
    local label=$1 early=()
    shift
    CURL_N=$((CURL_N + 1))
    local t=$WORK/s_client-$CURL_N stdin=$WORK/s_client-$CURL_N.req
    if [[ $1 == --early ]]; then
        # The request goes as early data only, nothing more from standard input.
        early=(-early_data "$t.req")
        stdin=/dev/null
        shift
    fi
    printf '%s' "$1" >"$t.req"
    shift
    openssl s_client -connect 127.0.0.1:8443 -servername api.tls.test -CAfile "$PKI/ca.pem" -verify_return_error \
        -keylogfile "$SSLKEYLOGFILE" -ign_eof "${early[@]}" "$@" <"$stdin" >"$t.out" 2>"$t.err" ||
        die "openssl s_client ($label) failed: $(cat "$t.err")"
    python3 "$TOOLS/tls_client.py" s-client --label "$label" --sni api.tls.test --request "$t.req" --out "$t.out"
}

# Checks the capture against the clients and writes <name>.keys and <name>.expected-tls.tsv.
finish_tls_common() {
    local name=$1
    python3 "$TOOLS/tls_client.py" oracle --name "$name" --pcap "$WORK/capture.pcap" --keys "$SSLKEYLOGFILE" \
        --expected "$WORK/expected.tsv" --client-tls "$TLS_CLIENT_LOG" --out "$WORK/$name.expected-tls.tsv" ||
        die "$name: the capture does not match what the clients did"
    mv "$WORK/$name.expected-tls.tsv" "$HERE/$name.expected-tls.tsv"
    cp "$SSLKEYLOGFILE" "$HERE/$name.keys"
    python3 "$TOOLS/tls_client.py" decrypted "$WORK/capture.pcap" "$HERE/$name.keys" >"$HERE/$name.expected-decrypted.tsv"
}

# Outside the namespace (make.sh's check): without keys, shadowtap must find exactly the requests
# that tshark finds without keys (none over TLS; tls_weak's cleartext HTTP on port 80).
check_tls_common() {
    local name=$1 size clear got
    size=$(stat -c %s "$HERE/$name.pcap")
    log "  $name.pcap: $size bytes, $(($(wc -l <"$HERE/$name.expected.tsv") - 1)) transactions inside TLS and cleartext"
    ((size < 200 * 1024)) || log "  WARNING: $name.pcap is larger than 200 KiB"
    clear=$(python3 "$TOOLS/tls_client.py" cleartext "$HERE/$name.pcap")
    got=$("$SHADOWTAP" log --unredacted --format tsv "$HERE/$name.pcap" | awk -F'\t' '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { print $col["method"] "\t" $col["uri"] }')
    if [[ $got == "$clear" ]]; then
        log "  shadowtap agrees: $(printf '%s' "$got" | grep -c . || true) cleartext transactions, nothing from TLS"
        return 0
    fi
    log "  shadowtap DISAGREES with the cleartext requests (tshark without keys):"
    diff <(printf '%s\n' "$clear") <(printf '%s\n' "$got") >&2 || true
    return 1
}

# With the key log, shadowtap must find exactly the request lines tshark decrypts
# (<name>.expected-decrypted.tsv).
check_tls_decrypted() {
    local name=$1 got
    got=$("$SHADOWTAP" log --unredacted --keylog "$HERE/$name.keys" --format tsv "$HERE/$name.pcap" | awk -F'\t' '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "method\turi"; next }
        { print $col["method"] "\t" $col["uri"] }')
    if [[ $got == "$(cat "$HERE/$name.expected-decrypted.tsv")" ]]; then
        log "  shadowtap --keylog agrees with tshark: $(($(printf '%s\n' "$got" | wc -l) - 1)) request lines"
        return 0
    fi
    log "  shadowtap --keylog DISAGREES with tshark's decrypted request lines:"
    diff "$HERE/$name.expected-decrypted.tsv" <(printf '%s\n' "$got") >&2 || true
    return 1
}
check_tls13() { check_tls_common tls13 && check_tls_decrypted tls13; }
check_tls12() { check_tls_common tls12 && check_tls_decrypted tls12; }
check_tls_weak() { check_tls_common tls_weak && check_tls_decrypted tls_weak; }
check_tls_h2() { check_tls_common tls_h2 && check_tls_decrypted tls_h2; }

# --- tls13 ------------------------------------------------------------------------------------

setup_tls13() {
    BPF='tcp port 8443'
    start_tls_nginx tls13.nginx.conf.template 8443
}
clients_tls13() {
    tls_env
    local b=https://api.tls.test:8443 c
    local common=(-sS -o /dev/null -w "$TLS_CURL_W" --resolve api.tls.test:8443:127.0.0.1 --cacert "$PKI/ca.pem")
    local auth=(-H "Authorization: Bearer $BEARER")

    # curl, TLS_AES_128_GCM_SHA256: five requests on one keep-alive connection, the last one
    # closing it; the next two on a second connection that resumes the session (PSK from the
    # NewSessionTicket of the first).
    c=("${common[@]}" --tls13-ciphers TLS_AES_128_GCM_SHA256)
    tls_curl curl "${c[@]}" "$b/v1/status" \
        --next "${c[@]}" "${auth[@]}" "$b/v1/users/42" \
        --next "${c[@]}" "${auth[@]}" -H 'Content-Type: application/json' \
        --data '{"sku":"TLS-13","quantity":1,"note":"first order"}' "$b/v1/orders" \
        --next "${c[@]}" "$b/v1/no-such-route" \
        --next "${c[@]}" -H 'Connection: close' "$b/v1/orders" \
        --next "${c[@]}" "${auth[@]}" -X DELETE "$b/v1/orders/1001" \
        --next "${c[@]}" "$b/v1/orders/1000"
    [[ $(curl_connections) == 2 ]] || die "tls13: curl opened $(curl_connections) connections, expected 2"

    # curl, TLS_AES_256_GCM_SHA384 (a 401: no bearer token), then TLS_CHACHA20_POLY1305_SHA256.
    c=("${common[@]}" --tls13-ciphers TLS_AES_256_GCM_SHA384)
    tls_curl curl "${c[@]}" "$b/v1/status" --next "${c[@]}" "$b/v1/users/42"
    c=("${common[@]}" --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256)
    tls_curl curl "${c[@]}" "$b/v1/orders" \
        --next "${c[@]}" "${auth[@]}" -H 'Content-Type: application/json' --data '{"sku":"CHACHA","quantity":3}' "$b/v1/orders"

    # Python: requests (a Session, ALPN http/1.1) and http.client (no ALPN).
    python3 "$TOOLS/tls_client.py" requests --port 8443 --ca "$PKI/ca.pem"
    python3 "$TOOLS/tls_client.py" httpclient --port 8443 --ca "$PKI/ca.pem"

    # openssl s_client: a full handshake that saves the session, then a resumption that sends
    # its request as 0-RTT early data (nginx ssl_early_data on; s_client reports whether the
    # server accepted it, and the oracle checks that against the EncryptedExtensions).
    local r=$'\r\n'
    tls_s_client openssl-s_client "GET /v1/status HTTP/1.1${r}Host: api.tls.test${r}Connection: close${r}${r}" \
        -sess_out "$WORK/session.pem"
    tls_s_client openssl-s_client --early \
        "GET /v1/orders/1000 HTTP/1.1${r}Host: api.tls.test${r}Connection: close${r}${r}" -sess_in "$WORK/session.pem"
}
finish_tls13() { finish_tls_common tls13; }

# --- tls12 ------------------------------------------------------------------------------------

setup_tls12() {
    BPF='tcp port 8443 or tcp port 8444'
    start_tls_nginx tls12.nginx.conf.template 8443 8444
}
clients_tls12() {
    tls_env
    local b=https://api.tls.test:8443 m=https://mtls.tls.test:8444 c
    local common=(-sS -o /dev/null -w "$TLS_CURL_W" --resolve api.tls.test:8443:127.0.0.1
        --resolve mtls.tls.test:8444:127.0.0.1 --cacert "$PKI/ca.pem")
    local auth=(-H "Authorization: Bearer $BEARER")

    # curl, ECDHE-RSA-AES128-GCM-SHA256: four requests on one connection, the last one closing
    # it, then a second connection resuming the session (by session id: abbreviated handshake).
    c=("${common[@]}" --ciphers ECDHE-RSA-AES128-GCM-SHA256)
    tls_curl curl "${c[@]}" "$b/v1/status" \
        --next "${c[@]}" "${auth[@]}" "$b/v1/users/42" \
        --next "${c[@]}" "${auth[@]}" -H 'Content-Type: application/json' \
        --data '{"sku":"TLS-12","quantity":1}' "$b/v1/orders" \
        --next "${c[@]}" -H 'Connection: close' "$b/v1/orders" \
        --next "${c[@]}" "$b/v1/orders/1000" \
        --next "${c[@]}" "${auth[@]}" -X DELETE "$b/v1/orders/1001"
    [[ $(curl_connections) == 2 ]] || die "tls12: curl opened $(curl_connections) connections, expected 2"

    # curl, ECDHE-RSA-CHACHA20-POLY1305; then the CBC suite ECDHE-RSA-AES128-SHA (HMAC-SHA1).
    c=("${common[@]}" --ciphers ECDHE-RSA-CHACHA20-POLY1305)
    tls_curl curl "${c[@]}" "$b/v1/orders"
    c=("${common[@]}" --ciphers ECDHE-RSA-AES128-SHA)
    tls_curl curl "${c[@]}" "$b/v1/status" \
        --next "${c[@]}" "${auth[@]}" -H 'Content-Type: application/json' --data '{"sku":"CBC","quantity":2}' "$b/v1/orders"

    # openssl s_client: a full handshake that saves the session (with a session ticket), then
    # one that resumes it with that ticket.
    local r=$'\r\n'
    tls_s_client openssl-s_client "GET /v1/status HTTP/1.1${r}Host: api.tls.test${r}Connection: close${r}${r}" \
        -sess_out "$WORK/session.pem"
    tls_s_client openssl-s_client "GET /v1/orders HTTP/1.1${r}Host: api.tls.test${r}Connection: close${r}${r}" \
        -sess_in "$WORK/session.pem"

    # Python requests: its default suite order picks ECDHE-RSA-AES256-GCM-SHA384.
    python3 "$TOOLS/tls_client.py" requests --port 8443 --ca "$PKI/ca.pem"

    # Client certificates (mtls.tls.test requires one): Python http.client and curl present
    # client-42's; curl without one gets nginx's 400.
    python3 "$TOOLS/tls_client.py" httpclient --host mtls.tls.test --port 8444 --ca "$PKI/ca.pem" \
        --cert "$PKI/client.pem" --key "$PKI/client.key"
    tls_curl curl "${common[@]}" --cert "$PKI/client.pem" --key "$PKI/client.key" "$m/v1/whoami"
    tls_curl curl "${common[@]}" "$m/v1/whoami"
}
finish_tls12() { finish_tls_common tls12; }

# --- tls_weak ---------------------------------------------------------------------------------

setup_tls_weak() {
    BPF='tcp port 80 or tcp port 443 or tcp port 8445'
    start_tls_nginx tls_weak.nginx.conf.template 80 443 8445
}
clients_tls_weak() {
    tls_env
    local common=(-sS -o /dev/null -w "$TLS_CURL_W" --resolve api.tls.test:80:127.0.0.1
        --resolve api.tls.test:443:127.0.0.1 --resolve expired.tls.test:443:127.0.0.1
        --resolve shop.tls.test:443:127.0.0.1 --resolve legacy.tls.test:8445:127.0.0.1
        --cacert "$PKI/ca.pem")
    local c

    # Cleartext HTTP to api.tls.test: Basic credentials in clear (after a 401), one connection.
    tls_curl curl "${common[@]}" http://api.tls.test/v1/status \
        --next "${common[@]}" http://api.tls.test/v1/account \
        --next "${common[@]}" -u alice:s3cret http://api.tls.test/v1/account
    # The same host and credentials over TLS (valid certificate; TLS 1.2 on port 443).
    tls_curl curl "${common[@]}" -u alice:s3cret https://api.tls.test/v1/account

    # The expired self-signed certificate: refused by curl (no request), then accepted with -k.
    tls_curl curl --fail-ok "${common[@]}" https://expired.tls.test/v1/status
    tls_curl curl "${common[@]}" -k https://expired.tls.test/v1/status
    # SNI shop.tls.test, answered by the default server, whose certificate names www.other.test.
    tls_curl curl "${common[@]}" -k https://shop.tls.test/v1/status
    # No SNI (an IP address in the URL): the default server again.
    tls_curl curl "${common[@]}" -k https://127.0.0.1/v1/orders

    # TLS 1.0 (ECDHE-RSA-AES128-SHA) and TLS 1.1 (AES128-SHA: RSA key exchange, no forward
    # secrecy), both only at OpenSSL security level 0.
    c=("${common[@]}" --tlsv1.0 --tls-max 1.0 --ciphers 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0')
    tls_curl curl "${c[@]}" https://legacy.tls.test:8445/v1/status
    c=("${common[@]}" --tlsv1.1 --tls-max 1.1 --ciphers 'AES128-SHA:@SECLEVEL=0')
    tls_curl curl "${c[@]}" -u alice:s3cret https://legacy.tls.test:8445/v1/account
}
finish_tls_weak() { finish_tls_common tls_weak; }

# --- tls_h2 -----------------------------------------------------------------------------------

setup_tls_h2() {
    BPF='tcp port 8446'
    start_tls_nginx tls_h2.nginx.conf.template 8446
}
clients_tls_h2() {
    tls_env
    local b=https://api.tls.test:8446 c
    local common=(-sS -o /dev/null -w "$TLS_CURL_W" --resolve api.tls.test:8446:127.0.0.1 --cacert "$PKI/ca.pem")
    local auth=(-H "Authorization: Bearer $BEARER")

    # curl --http2 (ALPN h2), TLS 1.3: six requests, one after the other, as streams 1, 3, 5, ...
    # of one connection (HPACK's dynamic table carries the repeated fields).
    c=("${common[@]}" --http2)
    tls_curl curl "${c[@]}" "$b/v1/status" \
        --next "${c[@]}" "${auth[@]}" "$b/v1/users/42" \
        --next "${c[@]}" "${auth[@]}" -H 'Content-Type: application/json' \
        --data '{"sku":"H2","quantity":2,"note":"over h2"}' "$b/v1/orders" \
        --next "${c[@]}" "$b/v1/no-such-route" \
        --next "${c[@]}" "${auth[@]}" -X DELETE "$b/v1/orders/1001" \
        --next "${c[@]}" "$b/v1/orders/1000"
    [[ $(curl_connections) == 1 ]] || die "tls_h2: curl opened $(curl_connections) connections, expected 1"
    # TLS 1.2 (ECDHE-RSA-AES256-GCM-SHA384), h2 again, and one request with HTTP/1.1 (ALPN
    # http/1.1) on the same server.
    c=("${common[@]}" --http2 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384)
    tls_curl curl "${c[@]}" "$b/v1/orders" --next "${c[@]}" "${auth[@]}" "$b/v1/users/7"
    tls_curl curl "${common[@]}" --http1.1 "$b/v1/status"
}
finish_tls_h2() { finish_tls_common tls_h2; }
