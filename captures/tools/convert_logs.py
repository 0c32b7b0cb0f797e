#!/usr/bin/env python3
"""Writes the access-log samples of software that is not installable here (AWS ALB, Traefik,
Envoy with a JSON format, Kong), converted from a real log of forge.pcap's requests:
captures/forge.caddy.log (a real Caddy in front of the forge server, tools/proxy_logs.sh).
Stdlib only.

    convert_logs.py            writes forge.alb.log, forge.traefik.log, forge.envoy-json.log, forge.kong.log

Each line is one of Caddy's, in the layout the software's documentation gives (the pages are
cited in src/source/<format>.rs): the same method, target, Host, client, status, body size,
request headers and timing. What Caddy's line does not hold is written as the software writes
"unknown" (`-`, null) or left out, never invented: the upstream's share of the time (Traefik's
OriginDuration, Kong's latencies.proxy) is left out or 0, ALB's byte counts are Caddy's body
sizes (ALB counts header bytes too). Constant names (load balancer, router, service) are made
up and marked as such. These are documentation-built samples, not recordings.
"""

import datetime
import json
import os
import urllib.parse

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rfc3339(t, digits):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    frac = f"{d.microsecond:06d}"[:digits]
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if digits else "") + "Z"


def records():
    with open(os.path.join(HERE, "forge.caddy.log")) as f:
        for n, line in enumerate(f, 1):
            c = json.loads(line)
            q = c["request"]
            headers = {k: v for k, v in q["headers"].items() if v}
            resp = {k: [x for x in v if x != "Caddy"] for k, v in c.get("resp_headers", {}).items()}
            yield n, {
                "end": c["ts"],
                "dur": c["duration"],
                "start": c["ts"] - c["duration"],
                "method": q["method"],
                "uri": q["uri"],
                "host": q["host"],
                "proto": q["proto"],
                "ip": q["remote_ip"],
                "port": q["remote_port"],
                "headers": headers,
                "status": c["status"],
                "size": c["size"],
                "read": c.get("bytes_read", 0),
                "resp": {k: v for k, v in resp.items() if v},
            }


def first(h, name):
    v = h.get(name)
    return v[0] if v else None


def alb(n, r):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
    q = lambda s: '"' + (s if s is not None else "-").replace('"', '\\"') + '"'
    return " ".join([
        "http", rfc3339(r["end"], 6), "app/forge-alb/50dc6c495c0c9188",  # made-up name
        f"{r['ip']}:{r['port']}", "127.0.0.1:8091",
        "0.000", f"{r['dur']:.3f}", "0.000", str(r["status"]), str(r["status"]),
        str(r["read"]), str(r["size"]),
        q(f"{r['method']} http://{r['host']}:80{r['uri']} {r['proto']}"),
        q(first(r["headers"], "User-Agent")), "-", "-",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/forge/73e2d6bc24d8a067",
        q(f"Root=1-{int(r['start']):08x}-{n:024x}"), q(None), q(None), "0",
        rfc3339(r["start"], 6), q("forward"), q(None), q(None), q("127.0.0.1:8091"),
        q(str(r["status"])), q(None), q(None), f"TID_{n:032x}",
    ])


def traefik(n, r):
    # https://doc.traefik.io/traefik/observability/access-logs/ (JSON, headers kept)
    line = {
        "ClientAddr": f"{r['ip']}:{r['port']}", "ClientHost": r["ip"], "ClientPort": r["port"],
        "ClientUsername": "-", "DownstreamContentSize": r["size"], "DownstreamStatus": r["status"],
        "Duration": round(r["dur"] * 1e9), "RequestAddr": r["host"], "RequestContentSize": r["read"],
        "RequestCount": n, "RequestHost": r["host"], "RequestMethod": r["method"],
        "RequestPath": r["uri"], "RequestPort": "-", "RequestProtocol": r["proto"],
        "RequestScheme": "http", "RetryAttempts": 0, "RouterName": "forge@file",  # made-up names
        "ServiceName": "forge-api@file", "ServiceURL": "http://127.0.0.1:8091",
        "StartLocal": rfc3339(r["start"], 6), "StartUTC": rfc3339(r["start"], 6),
        "entryPointName": "web", "level": "info", "msg": "", "time": rfc3339(r["end"], 0),
    }
    for k, v in r["headers"].items():
        line[f"request_{k}"] = v[0]
    for k, v in r["resp"].items():
        line[f"downstream_{k}"] = v[0]
    return json.dumps(line, separators=(",", ":"))


def envoy_json(n, r):
    # https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage
    # (json_format with the default format's command operators, Istio's key names)
    return json.dumps({
        "start_time": rfc3339(r["start"], 3), "method": r["method"], "path": r["uri"],
        "protocol": r["proto"], "response_code": r["status"], "response_flags": "-",
        "bytes_received": r["read"], "bytes_sent": r["size"], "duration": round(r["dur"] * 1000),
        "upstream_service_time": None, "x_forwarded_for": None,
        "user_agent": first(r["headers"], "User-Agent"),
        "request_id": f"{n:08x}-0000-4000-8000-{n:012x}", "authority": r["host"],
        "upstream_host": "127.0.0.1:8091", "downstream_remote_address": f"{r['ip']}:{r['port']}",
    }, separators=(",", ":"))


def kong(n, r):
    # https://developer.konghq.com/plugins/file-log/ (the log object of the logging plugins)
    headers = {"host": r["host"], **{k.lower(): v[0] if len(v) == 1 else v for k, v in r["headers"].items()}}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(r["uri"]).query)
    return json.dumps({
        "request": {"method": r["method"], "uri": r["uri"], "url": f"http://{r['host']}:8000{r['uri']}",
                    "size": r["read"], "querystring": {k: v[0] for k, v in query.items()}, "headers": headers},
        "upstream_uri": r["uri"],
        "response": {"status": r["status"], "size": r["size"],
                     "headers": {k.lower(): v[0] if len(v) == 1 else v for k, v in r["resp"].items()}},
        "latencies": {"request": round(r["dur"] * 1000), "kong": 0},
        "client_ip": r["ip"], "started_at": round(r["start"] * 1000),
        "service": {"name": "forge-api"}, "route": {"name": "forge"},  # made-up names
    }, separators=(",", ":"))


def main():
    out = {name: open(os.path.join(HERE, f"forge.{name}.log"), "w")
           for name in ("alb", "traefik", "envoy-json", "kong")}
    for n, r in records():
        out["alb"].write(alb(n, r) + "\n")
        out["traefik"].write(traefik(n, r) + "\n")
        out["envoy-json"].write(envoy_json(n, r) + "\n")
        out["kong"].write(kong(n, r) + "\n")
    for f in out.values():
        f.close()


if __name__ == "__main__":
    main()
