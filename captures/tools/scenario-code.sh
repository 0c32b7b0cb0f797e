# shellcheck shell=bash
# The source-code scenario (sourced by ../make.sh): code.pcap and code.expected.tsv. See
# ../code.md.
#
# Routes declared in source code joined with routes observed on the wire and routes documented
# in ../code.openapi.yaml. Two services written with real frameworks, tools/code_app/express
# (Express 4: orders, users, catalog) and tools/code_app/fastapi (FastAPI on uvicorn:
# inventory), behind one nginx front door (tools/code.nginx.conf.template, Host api.code.test,
# port 8092, the only port recorded), which also answers /healthz, rewrites the legacy
# /api/v1/orders/<id> and requires an X-API-Key for /inventory/stock/. Eight personas on
# 127.0.0.2-9 (tools/code_client.py) call every declared route but three; the client fails the
# capture when an answer is not the one the scenario needs.
#
# The packages (npm express, pip fastapi and uvicorn, at the versions of package-lock.json and
# requirements.txt) are installed by prereq_code, outside the namespace (which has no network),
# into ${XDG_CACHE_HOME:-~/.cache}/shadowtap-captures/code, never into the repository.

ALL+=(code)

CODE_PORT=8092
CODE_EXPRESS_PORT=3000
CODE_FASTAPI_PORT=3001
CODE_APP=$TOOLS/code_app
CODE_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/shadowtap-captures/code

prereq_code() {
    command -v npm >/dev/null || die "npm not found (apt-get install -y npm)"
    mkdir -p "$CODE_CACHE/express"
    # node_modules for the committed lock file (npm ci), again whenever the lock file changes.
    if ! cmp -s "$CODE_APP/express/package-lock.json" "$CODE_CACHE/express/package-lock.json" ||
        [[ ! -d $CODE_CACHE/express/node_modules/express ]]; then
        log "installing the npm packages of tools/code_app/express into $CODE_CACHE/express"
        cp "$CODE_APP/express/package.json" "$CODE_APP/express/package-lock.json" "$CODE_CACHE/express/"
        (cd "$CODE_CACHE/express" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
    # A virtual environment with the pinned FastAPI and uvicorn.
    if ! cmp -s "$CODE_APP/fastapi/requirements.txt" "$CODE_CACHE/venv/requirements.txt" ||
        [[ ! -x $CODE_CACHE/venv/bin/uvicorn ]]; then
        log "installing the Python packages of tools/code_app/fastapi into $CODE_CACHE/venv"
        python3 -m venv "$CODE_CACHE/venv"
        "$CODE_CACHE/venv/bin/pip" install -q -r "$CODE_APP/fastapi/requirements.txt" >&2
        cp "$CODE_APP/fastapi/requirements.txt" "$CODE_CACHE/venv/requirements.txt"
    fi
}

setup_code() {
    BPF="tcp port $CODE_PORT"
    sysctl -qw net.ipv4.tcp_timestamps=0
    NODE_PATH=$CODE_CACHE/express/node_modules start_server code_express \
        node "$CODE_APP/express/app.js" "$CODE_EXPRESS_PORT"
    # No __pycache__ in the repository.
    PYTHONDONTWRITEBYTECODE=1 start_server code_fastapi "$CODE_CACHE/venv/bin/uvicorn" main:app \
        --app-dir "$CODE_APP/fastapi" --host 127.0.0.1 --port "$CODE_FASTAPI_PORT"
    wait_listen "$CODE_EXPRESS_PORT"
    wait_listen "$CODE_FASTAPI_PORT"
    mkdir -p "$WORK/tmp"
    sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$CODE_PORT|g" -e "s|@EXPRESS_PORT@|$CODE_EXPRESS_PORT|g" \
        -e "s|@FASTAPI_PORT@|$CODE_FASTAPI_PORT|g" "$TOOLS/code.nginx.conf.template" >"$WORK/code.nginx.conf"
    start_server nginx nginx -p "$WORK/" -c "$WORK/code.nginx.conf" -e "$WORK/nginx-error.log"
    wait_listen "$CODE_PORT"
}

clients_code() {
    python3 "$TOOLS/code_client.py" --port "$CODE_PORT" --log "$CLIENT_LOG" --summary "$WORK/code-routes.tsv"
}
