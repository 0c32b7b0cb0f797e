# shellcheck shell=bash
# The noise-control scenario (sourced by ../make.sh): static.pcap and static.expected.tsv.
#
# One web shop (tools/static_server.py, Python's http.server on port 8099, Host
# shop.static.test, its API published in ../static.openapi.yaml) serving its pages and static
# assets (HTML, a script holding a support e-mail address, its source map, CSS, PNG, a WOFF2
# font, an icon) beside a small JSON API (products, users with their e-mail addresses, a JSONP
# widget, a JSON document at /data.json, an undocumented debug route, a health check), and
# two third-party hosts its pages call (www.google-analytics.com, cdn.jsdelivr.net), all
# fetched by curl as a browser would: a first visit, a returning visitor with a session cookie
# and conditional GETs (304), a health monitor. tests/noise.rs checks what is an API, what is
# static and what is a third party.

ALL+=(static)

setup_static() {
    BPF='tcp port 8099'
    start_server static_server python3 "$TOOLS/static_server.py" 8099
    wait_listen 8099
}

clients_static() {
    local b=http://127.0.0.1:8099
    local etag_logo etag_js
    etag_logo="\"logo.png-$(stat -c %s "$TOOLS/static/logo.png")\""
    etag_js="\"app.js-$(stat -c %s "$TOOLS/static/app.js")\""
    # page PATH... : one keep-alive connection from address $IP with Host $HOST (and $COOKIE).
    page() {
        local args=() first=1 p
        for p in "$@"; do
            ((first)) || args+=(--next)
            first=0
            args+=(-sS -o /dev/null -w "$CURL_W" --interface "$IP" -H "Host: $HOST")
            [[ -z ${COOKIE:-} ]] || args+=(-H "Cookie: $COOKIE")
            case $p in
            HEAD:*) args+=(-I "$b${p#HEAD:}") ;;
            IFNM-LOGO:*) args+=(-H "If-None-Match: $etag_logo" "$b${p#IFNM-LOGO:}") ;;
            IFNM-JS:*) args+=(-H "If-None-Match: $etag_js" "$b${p#IFNM-JS:}") ;;
            POST:*) args+=(-X POST --data-binary '' "$b${p#POST:}") ;;
            *) args+=("$b$p") ;;
            esac
        done
        curl "${args[@]}" >>"$CLIENT_LOG"
    }
    local ga='/collect?v=1&tid=UA-4711-1&cid=555.1&t=pageview&dp=%2F'
    local chart=/npm/chart.js@4.4.0/dist/chart.umd.js
    # A first visit, no cookie.
    IP=127.0.0.2 HOST=shop.static.test COOKIE='' page / /assets/style.css /assets/app.js \
        /assets/logo.png /assets/fonts/inter.woff2 /favicon.ico /api/products /api/users/17 /about
    IP=127.0.0.2 HOST=cdn.jsdelivr.net COOKIE='' page "$chart"
    IP=127.0.0.2 HOST=www.google-analytics.com COOKIE='' page "$ga" 'POST:/g/collect?v=2&tid=G-SHOP1&en=page_view'
    # A returning visitor with a session cookie: conditional GETs, the source map (devtools),
    # the JSONP widget, the JSON document, the debug route, an unknown user.
    IP=127.0.0.3 HOST=shop.static.test COOKIE='session_id=b7c4e0a91f3d4c2e8a5b6d7e9f001122' page / \
        HEAD:/assets/style.css IFNM-JS:/assets/app.js /assets/app.js IFNM-LOGO:/assets/logo.png \
        /assets/app.js.map '/api/widget.js?callback=jsonp_cb1' /data.json /api/products \
        /api/users/42 /api/users/99 /api/internal/debug /about
    IP=127.0.0.3 HOST=cdn.jsdelivr.net COOKIE='' page "$chart"
    IP=127.0.0.3 HOST=www.google-analytics.com COOKIE='' page "$ga" 'POST:/g/collect?v=2&tid=G-SHOP1&en=page_view'
    # A third visitor, and the health monitor.
    IP=127.0.0.4 HOST=shop.static.test COOKIE='' page / /assets/style.css /assets/app.js \
        /assets/logo.png /api/products '/api/widget.js?callback=jsonp_cb2'
    IP=127.0.0.10 HOST=shop.static.test COOKIE='' page /healthz /healthz /healthz
}
