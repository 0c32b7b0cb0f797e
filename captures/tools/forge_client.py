#!/usr/bin/env python3
"""Clients of the Forge API (forge_server.py behind nginx) for forge.pcap. Stdlib only.

    forge_client.py run --port 8090 --log CLIENT_LOG --records RECORDS.jsonl
    forge_client.py truth --log CLIENT_LOG --records RECORDS.jsonl --out forge.expected-templates.tsv

`run` plays eight personas, each from its own loopback source address (127.0.0.2-9), through the
reverse proxy (nginx on --port), interleaved by a seeded generator, one request at a time, so the
requests, their bodies and the server's answers are the same on every run. Which owner,
repository, user or gist a persona asks for is drawn from a heavy-tailed (Zipf) distribution over
its own interests: a few popular names often, a long tail once or twice. Each persona follows
what the API tells it (issue numbers from a list, logins from search results), as real clients
do. Every request names the status it expects and the run fails otherwise. It writes the client
log that make.sh turns into forge.expected.tsv, and one JSON record per request (with the route
the client meant, in GitHub's notation: /repos/{owner}/{repo}/issues/{issue_number}).

`truth` writes forge.expected-templates.tsv: one row per operation the clients called (method,
template with the parameter names replaced by `{}`, requests, GitHub's template), from the
client log matched against the server's route table (forge_server.ROUTES); it fails when a
logged request matches no route or a different route than the one the client meant. Never
from shadowtap.
"""

import argparse
import gzip
import http.client
import json
import os
import random
import re
import sys
import urllib.parse
import zlib
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forge_server as fs  # noqa: E402  (the route table and the names of the world)

SEED = 20240601
HOST = fs.HOST
VERSION_HEADERS = {"Accept": "application/vnd.forge+json", "X-Forge-Api-Version": "2022-11-28"}


# --- transport ----------------------------------------------------------------------------------


class Req:
    def __init__(self, method, target, route, expect=200, json_body=None, headers=None):
        self.method = method
        self.target = target
        self.route = route
        self.expect = expect
        self.body = json.dumps(json_body, separators=(",", ":")).encode() if json_body is not None else None
        self.headers = dict(headers or {})
        if self.body is not None:
            self.headers["Content-Type"] = "application/json; charset=utf-8"


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        enc = headers.get("content-encoding", "")
        data = raw
        if enc == "gzip":
            data = gzip.decompress(raw)
        elif enc == "deflate":
            data = zlib.decompress(raw)
        self.json = json.loads(data) if data else None


class Persona:
    def __init__(self, name, ip, headers, port, reconnect_every, auth=None):
        self.name = name
        self.ip = ip
        self.port = port
        self.reconnect_every = reconnect_every
        self.headers = {"Host": HOST, **headers}
        self.auth = auth  # the Authorization header value, or None
        self.conn = None
        self.on_conn = 0
        self.connections = 0

    def send(self, req):
        if self.conn is None or self.on_conn >= self.reconnect_every:
            self.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.ip, 0), timeout=10)
            self.on_conn = 0
            self.connections += 1
        headers = dict(self.headers)
        if self.auth:
            headers["Authorization"] = self.auth
        headers.update(req.headers)
        c = self.conn
        c.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            c.putheader(k, v)
        if req.body is not None:
            c.putheader("Content-Length", str(len(req.body)))
        c.endheaders(req.body)
        r = c.getresponse()
        raw = r.read()
        self.on_conn += 1
        resp = Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
        if r.will_close:
            self.close()
        return resp

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- heavy tails --------------------------------------------------------------------------------


def zipf(rng, items, s=1.2):
    """One of `items` (most popular first), with probability proportional to 1 / rank^s."""
    return rng.choices(items, weights=[1 / (i + 1) ** s for i in range(len(items))])[0]


def q(s):
    return urllib.parse.quote_plus(s, safe=":")


# Popularity orders (most asked for first).
PUBLIC_REPOS = [
    ("vercel", "next.js"), ("facebook", "react"), ("rust-lang", "rust"), ("kubernetes", "kubernetes"),
    ("microsoft", "vscode"), ("rust-lang", "rustup"), ("facebook", "react-native"), ("golang", "go"),
    ("tokio-rs", "tokio"), ("rust-lang", "cargo"), ("nodejs", "node"), ("hashicorp", "terraform"),
    ("microsoft", "TypeScript"), ("torvalds", "linux"), ("django", "django"), ("octocat", "Hello-World"),
    ("kubernetes-sigs", "kind"), ("facebook", "jest"), ("Nova-Granite", "granite-ui"), ("dtolnay", "syn"),
    ("rust-lang", "rust-analyzer"), ("vercel", "swr"), ("kubernetes-sigs", "kustomize"), ("sindresorhus", "awesome"),
    ("octocat", "Spoon-Knife"), ("dtolnay", "anyhow"), ("octo-org", "octo-repo"), ("Nova-Granite", "nova_core"),
    ("jdoe", "dotfiles"), ("alice38", "advent-of-code-2023"), ("octo-org", "hello-world"),
]
PEOPLE = [
    "octocat", "torvalds", "gaearon", "sindresorhus", "dtolnay", "yyx990803", "tj", "kentcdodds", "mitchellh",
    "addyosmani", "steveklabnik", "jdoe", "alice38", "carllerche", "m-smith", "bob_k", "mojombo", "defunkt",
    "brson", "jlord", "ghost", "mariana-s", "hkim", "lin_wei", "carol-dev", "dave99", "eve-sec", "frank_ops",
    "grace-hopper-42", "jmartinez", "kwame-a", "nadia-k", "ojas", "p-dubois", "quinn-t", "rkumar", "sam-w",
    "tanaka-yuki", "ursula-m", "vlad-k",
]
MISSING_PEOPLE = ["alice-38", "john-doe-1987", "octocat2", "deleted_user_0"]  # 404s
PUBLIC_GISTS = [g[0] for g in fs.GISTS if g[4]]


def repo_path(owner, repo):
    return f"/repos/{owner}/{repo}"


# --- personas (generators: yield a Req, receive its Resp) -----------------------------------------


def dashboard(rng):
    """An engineering dashboard (octokit, classic token of octocat): repositories, their issues and
    pull requests, comments; conditional requests (If-None-Match) for repositories it has seen."""
    etags = {}
    for _ in range(24):
        owner, repo = zipf(rng, PUBLIC_REPOS, 0.9)
        base = repo_path(owner, repo)
        roll = rng.random()
        if roll < 0.3:
            if base in etags:
                r = yield Req("GET", base, "/repos/{owner}/{repo}", 304, headers={"If-None-Match": etags[base]})
            else:
                r = yield Req("GET", base, "/repos/{owner}/{repo}")
                etags[base] = r.headers["etag"]
        elif roll < 0.85:
            per = rng.choice([3, 5])
            r = yield Req("GET", f"{base}/issues?state=open&per_page={per}", "/repos/{owner}/{repo}/issues")
            numbers = [i["number"] for i in r.json]
            for n in rng.sample(numbers, rng.choice([1, 1, 2])):
                yield Req("GET", f"{base}/issues/{n}", "/repos/{owner}/{repo}/issues/{issue_number}")
                if rng.random() < 0.4:
                    yield Req("GET", f"{base}/issues/{n}/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
        else:
            r = yield Req("GET", f"{base}/pulls?state=open&per_page=5", "/repos/{owner}/{repo}/pulls")
            if r.json:
                n = rng.choice(r.json)["number"]
                yield Req("GET", f"{base}/pulls/{n}", "/repos/{owner}/{repo}/pulls/{pull_number}")
    # A stale link from an old bookmark.
    yield Req("GET", "/repos/facebook/react/issues/999999", "/repos/{owner}/{repo}/issues/{issue_number}", 404)
    yield Req("GET", "/repos/facebook/react-dom", "/repos/{owner}/{repo}", 404)


def gh_cli(rng):
    """The command-line client of alice38 (OAuth token, Bearer): issue and pull request work on
    her team's repositories."""
    yield Req("GET", "/user", "/user")
    # gh issue create, then gh issue edit --add-label --add-assignee
    r = yield Req("POST", "/repos/acme-corp/my-project-123/issues", "/repos/{owner}/{repo}/issues", 201,
                  json_body={"title": "Onboarding script fails on a fresh laptop", "body": "Log attached.",
                             "labels": ["bug"]})
    yield Req("PATCH", f"/repos/acme-corp/my-project-123/issues/{r.json['number']}",
              "/repos/{owner}/{repo}/issues/{issue_number}", json_body={"assignees": ["alice38", "bob_k"]})
    mine = [("acme-corp", "my-project-123"), ("rust-lang", "rustup"), ("acme-corp", "billing-service"),
            ("tokio-rs", "tokio"), ("alice38", "advent-of-code-2023"), ("acme-corp", "infra-live"),
            ("rust-lang", "cargo")]
    titles = ["Flaky integration test on CI", "Bump serde to 1.0.203", "Document the release process",
              "Timeout when the proxy is down", "Typo in the README"]
    for step in range(12):
        owner, repo = zipf(rng, mine, 1.3)
        base = repo_path(owner, repo)
        roll = rng.random()
        if roll < 0.35:  # gh issue list; gh issue view
            r = yield Req("GET", f"{base}/issues?per_page=5", "/repos/{owner}/{repo}/issues")
            if r.json:
                n = rng.choice(r.json)["number"]
                yield Req("GET", f"{base}/issues/{n}", "/repos/{owner}/{repo}/issues/{issue_number}")
                yield Req("GET", f"{base}/issues/{n}/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
        elif roll < 0.5:  # gh issue create, then gh issue edit --add-label
            r = yield Req("POST", f"{base}/issues", "/repos/{owner}/{repo}/issues", 201,
                          json_body={"title": rng.choice(titles), "body": "Seen twice this week.",
                                     "labels": ["needs-triage"]})
            n = r.json["number"]
            yield Req("PATCH", f"{base}/issues/{n}", "/repos/{owner}/{repo}/issues/{issue_number}",
                      json_body={"labels": ["needs-triage", rng.choice(["bug", "documentation", "ci"])],
                                 "assignees": ["alice38"]})
        elif roll < 0.65:  # gh issue close
            r = yield Req("GET", f"{base}/issues?per_page=5", "/repos/{owner}/{repo}/issues")
            if r.json:
                n = r.json[-1]["number"]
                yield Req("PATCH", f"{base}/issues/{n}", "/repos/{owner}/{repo}/issues/{issue_number}",
                          json_body={"state": "closed", "state_reason": "completed"})
        elif roll < 0.9:  # gh pr list; gh pr view
            r = yield Req("GET", f"{base}/pulls?per_page=10", "/repos/{owner}/{repo}/pulls")
            if r.json:
                n = rng.choice(r.json)["number"]
                yield Req("GET", f"{base}/pulls/{n}", "/repos/{owner}/{repo}/pulls/{pull_number}")
        else:
            yield Req("GET", base, "/repos/{owner}/{repo}")
        if step % 8 == 7:
            yield Req("GET", "/rate_limit", "/rate_limit")
    # An issue number that is a plain issue, asked for as a pull request.
    r = yield Req("GET", "/repos/acme-corp/my-project-123/issues?per_page=10", "/repos/{owner}/{repo}/issues")
    plain = [i["number"] for i in r.json if "pull_request" not in i]
    yield Req("GET", f"/repos/acme-corp/my-project-123/pulls/{plain[0]}", "/repos/{owner}/{repo}/pulls/{pull_number}", 404)


def ci_bot(rng):
    """The CI of acme-corp (an installation token): manifests and branches of its repositories,
    the latest releases of the tools and libraries they depend on."""
    own = [("acme-corp", "billing-service"), ("acme-corp", "my-project-123"), ("acme-corp", "infra-live")]
    deps = [("rust-lang", "rustup"), ("hashicorp", "terraform"), ("golang", "go"), ("kubernetes-sigs", "kind"),
            ("tokio-rs", "tokio"), ("nodejs", "node"), ("kubernetes-sigs", "kustomize"), ("dtolnay", "anyhow"),
            ("vercel", "next.js"), ("acme-corp", "my-project-123"), ("torvalds", "linux")]
    for _ in range(8):
        owner, repo = zipf(rng, own, 1.0)
        r = fs.REPO_INDEX[(owner.lower(), repo.lower())]
        files = fs.repo_files(r)
        base = repo_path(owner, repo)
        yield Req("GET", f"{base}/branches?per_page=30", "/repos/{owner}/{repo}/branches")
        manifest = fs.FILES_BY_LANGUAGE[r[2]][0]
        for path in [manifest, "README.md"] + (["Dockerfile"] if rng.random() < 0.5 else []):
            yield Req("GET", f"{base}/contents/{path}?ref=main", "/repos/{owner}/{repo}/contents/{path}",
                      200 if path in files else 404)
        owner, repo = zipf(rng, deps, 1.0)
        has_release = fs.REPO_INDEX[(owner.lower(), repo.lower())][5]
        yield Req("GET", f"/repos/{owner}/{repo}/releases/latest", "/repos/{owner}/{repo}/releases/latest",
                  200 if has_release else 404)
    # Dependency manifests of other projects (a renovate-like scan), and a file that is not there.
    for owner, repo, path in [("rust-lang", "rustup", "Cargo.toml"), ("vercel", "next.js", "package.json"),
                              ("golang", "go", "go.mod"), ("facebook", "react", "package.json"),
                              ("tokio-rs", "tokio", "Cargo.toml"), ("vercel", "next.js", "CONTRIBUTING.md"),
                              ("kubernetes-sigs", "kind", "go.mod"), ("rust-lang", "rustup", "package.json")]:
        r = fs.REPO_INDEX[(owner.lower(), repo.lower())]
        yield Req("GET", f"/repos/{owner}/{repo}/contents/{path}", "/repos/{owner}/{repo}/contents/{path}",
                  200 if path in fs.repo_files(r) else 404)


def org_admin(rng):
    """acme-corp's membership sync (OAuth token of jdoe, an org admin): reads the roster, checks
    each wanted member, adds the missing ones, removes those who left; looks at a few other
    organisations too, where it is not an admin."""
    yield Req("GET", "/orgs/acme-corp", "/orgs/{org}")
    r = yield Req("GET", "/orgs/acme-corp/members?per_page=100", "/orgs/{org}/members")
    current = {m["login"] for m in r.json}
    wanted = ["jdoe", "alice38", "bob_k", "carol-dev", "m-smith", "kwame-a", "lin_wei", "tanaka-yuki"]
    for login in wanted:
        member = login in current
        yield Req("GET", f"/orgs/acme-corp/members/{login}", "/orgs/{org}/members/{username}", 204 if member else 404)
        if not member:
            yield Req("PUT", f"/orgs/acme-corp/members/{login}", "/orgs/{org}/members/{username}",
                      json_body={"role": "member"})
    for login in sorted(current - set(wanted)):
        yield Req("DELETE", f"/orgs/acme-corp/members/{login}", "/orgs/{org}/members/{username}", 204)
    yield Req("DELETE", "/orgs/acme-corp/members/dave99", "/orgs/{org}/members/{username}", 404)  # already gone
    r = yield Req("GET", "/orgs/acme-corp/members?per_page=100", "/orgs/{org}/members")
    assert {m["login"] for m in r.json} == set(wanted), r.json
    # The other organisations acme people belong to (heavy-tailed), and who of them is a member.
    others = ["Nova-Granite", "octo-org", "rust-lang", "kubernetes-sigs", "tokio-rs", "facebook", "hashicorp",
              "vercel", "django"]
    for _ in range(4):
        org = zipf(rng, others, 1.0)
        yield Req("GET", f"/orgs/{org}", "/orgs/{org}")
        r = yield Req("GET", f"/orgs/{org}/members?per_page=30", "/orgs/{org}/members")
        members = {m["login"] for m in r.json}
        for login in rng.sample(wanted, 2):
            yield Req("GET", f"/orgs/{org}/members/{login}", "/orgs/{org}/members/{username}",
                      204 if login in members else 404)
    # Not an admin there.
    yield Req("PUT", "/orgs/Nova-Granite/members/bob_k", "/orgs/{org}/members/{username}", 403,
              json_body={"role": "member"})
    yield Req("GET", "/orgs/acme", "/orgs/{org}", 404)
    yield Req("GET", "/orgs/jdoe", "/orgs/{org}", 404)  # a user, not an organisation


def anon_browser(rng):
    """A public profile-card web app, no credentials: user profiles with their repositories and
    followers, public gists; a few logins that do not exist; /user without a token."""
    yield Req("GET", "/user", "/user", 401)
    for i in range(18):
        login = zipf(rng, PEOPLE, 0.8)
        r = yield Req("GET", f"/users/{login}", "/users/{username}")
        roll = rng.random()
        if roll < 0.35:
            yield Req("GET", f"/users/{login}/repos?sort=updated&per_page=6", "/users/{username}/repos")
        elif roll < 0.55:
            r = yield Req("GET", f"/users/{login}/followers?per_page=8", "/users/{username}/followers")
            yield Req("GET", f"/users/{rng.choice(r.json)['login']}", "/users/{username}")  # a follower's card
        if i % 8 == 4:
            yield Req("GET", f"/users/{rng.choice(MISSING_PEOPLE)}", "/users/{username}", 404)
    r = yield Req("GET", "/gists/public?per_page=5", "/gists/public")
    for g in r.json[:3]:
        yield Req("GET", f"/gists/{g['id']}", "/gists/{gist_id}")


def gist_sync(rng):
    """A desktop gist synchroniser (classic token of alice38, gist scope)."""
    yield Req("GET", "/user", "/user")
    for _ in range(2):
        r = yield Req("GET", "/gists/starred", "/gists/starred")
        for g in r.json:
            if rng.random() < 0.7:
                yield Req("GET", f"/gists/{g['id']}", "/gists/{gist_id}")
        r = yield Req("GET", "/gists/public?per_page=10", "/gists/public")
        for _ in range(2):
            yield Req("GET", f"/gists/{zipf(rng, PUBLIC_GISTS, 1.0)}", "/gists/{gist_id}")
    # Someone else's secret gist, and one that was deleted.
    yield Req("GET", "/gists/57a1c3e5b7d9f0e2c4a6b8d0f1e3c5a7", "/gists/{gist_id}", 404)
    yield Req("GET", "/gists/00000000000000000000000000000000", "/gists/{gist_id}", 404)


def search_bot(rng):
    """A discovery bot (classic token of bob_k): searches, then looks at the hits."""
    repo_queries = ["react language:typescript", "rust async", "kubernetes", "terraform", "react",
                    "language:go topic:kubernetes", "parser language:rust", "next", "linux kernel",
                    "design-system", "package manager"]
    user_queries = ["octo", "kim", "alice", "type:org rust", "smith", "granite", "tanaka", "dev"]
    for i in range(8):
        if rng.random() < 0.6:
            query = zipf(rng, repo_queries, 1.0)
            r = yield Req("GET", f"/search/repositories?q={q(query)}&sort=stars&order=desc&per_page=5",
                          "/search/repositories")
            for item in r.json["items"][:rng.choice([1, 2])]:
                owner, repo = item["full_name"].split("/")
                yield Req("GET", repo_path(owner, repo), "/repos/{owner}/{repo}")
        else:
            query = zipf(rng, user_queries, 1.0)
            r = yield Req("GET", f"/search/users?q={q(query)}&per_page=5", "/search/users")
            for item in r.json["items"][:2]:
                yield Req("GET", f"/users/{item['login']}", "/users/{username}")
        if i % 4 == 3:
            yield Req("GET", "/rate_limit", "/rate_limit")
    yield Req("GET", "/search/repositories?q=", "/search/repositories", 422)


def mobile(rng):
    """The mobile app of m-smith: a stale token first (401), then the new one; her profile, her
    repositories, her organisation, people and repositories she taps on."""
    yield Req("GET", "/user", "/user", 401, headers={"Authorization": f"Bearer {fs.token_for('revoked')}"})
    yield Req("GET", "/user", "/user")
    yield Req("GET", "/users/m-smith/repos?per_page=10", "/users/{username}/repos")
    yield Req("GET", "/orgs/acme-corp", "/orgs/{org}")
    yield Req("GET", "/orgs/acme-corp/members", "/orgs/{org}/members")
    yield Req("GET", "/repos/acme-corp/billing-service", "/repos/{owner}/{repo}")
    feed = [("acme-corp", "billing-service"), ("facebook", "react-native"), ("facebook", "react"),
            ("acme-corp", "my-project-123"), ("vercel", "next.js"), ("facebook", "jest")]
    for _ in range(10):
        roll = rng.random()
        if roll < 0.35:
            login = zipf(rng, PEOPLE, 0.8)
            yield Req("GET", f"/users/{login}", "/users/{username}")
        elif roll < 0.5:
            org = zipf(rng, ["acme-corp", "facebook", "octo-org", "Nova-Granite"], 1.0)
            yield Req("GET", f"/orgs/{org}", "/orgs/{org}")
        else:
            owner, repo = zipf(rng, feed, 1.0)
            base = repo_path(owner, repo)
            r = yield Req("GET", f"{base}/issues?per_page=5", "/repos/{owner}/{repo}/issues")
            if r.json:
                n = rng.choice(r.json)["number"]
                yield Req("GET", f"{base}/issues/{n}", "/repos/{owner}/{repo}/issues/{issue_number}")
    yield Req("GET", "/repos/facebook/react-native/releases/latest", "/repos/{owner}/{repo}/releases/latest")
    yield Req("GET", "/users/m-smith/followers", "/users/{username}/followers")


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
PERSONAS = [
    # name, source address, headers, requests per connection, Authorization, generator
    ("dashboard", "127.0.0.2",
     {"User-Agent": "octokit-rest.js/20.1.1 octokit-core.js/5.2.0 Node.js/20.13.1 (linux; x64)",
      **VERSION_HEADERS, "Accept-Encoding": "gzip, deflate"},
     40, f"token {fs.token_for('dashboard')}", dashboard),
    ("gh-cli", "127.0.0.3", {"User-Agent": "Forge CLI 2.49.2", **VERSION_HEADERS, "Accept-Encoding": "gzip"},
     25, f"Bearer {fs.token_for('gh-cli')}", gh_cli),
    ("ci-bot", "127.0.0.4", {"User-Agent": "acme-ci/3.2.0 (+https://ci.acme.test)", **VERSION_HEADERS, "Accept-Encoding": "gzip"},
     50, f"token {fs.token_for('ci-bot')}", ci_bot),
    ("org-admin", "127.0.0.5",
     {"User-Agent": "acme-org-sync/1.4 python-requests/2.31.0", "Accept": "application/vnd.forge+json",
      "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"},
     100, f"Bearer {fs.token_for('org-admin')}", org_admin),
    ("anon-browser", "127.0.0.6",
     {"User-Agent": FIREFOX, "Accept": "application/json", "Accept-Language": "en-US,en;q=0.5",
      "Accept-Encoding": "gzip, deflate, br", "Origin": "https://cards.example.org",
      "Referer": "https://cards.example.org/"},
     20, None, anon_browser),
    ("gist-sync", "127.0.0.7", {"User-Agent": "gist-sync/0.8.2 Go-http-client/1.1", "Accept-Encoding": "gzip"},
     100, f"token {fs.token_for('gist-sync')}", gist_sync),
    ("search-bot", "127.0.0.8", {"User-Agent": "forge-discovery-bot/2.0", **VERSION_HEADERS},
     30, f"token {fs.token_for('search')}", search_bot),
    ("mobile", "127.0.0.9",
     {"User-Agent": "ForgeMobile/1.112.0 (iPhone; iOS 17.5; Scale/3.00)", "Accept": "application/vnd.forge+json",
      "Accept-Language": "en-GB", "Accept-Encoding": "gzip"},
     15, f"Bearer {fs.token_for('mobile')}", mobile),
]


def cmd_run(args):
    rng = random.Random(SEED)
    want_server = args.server
    active = []
    for name, ip, headers, per_conn, auth, gen_fn in PERSONAS:
        p = Persona(name, ip, headers, args.port, per_conn, auth)
        active.append([p, gen_fn(random.Random(f"{SEED}-{name}")), None])
    log = open(args.log, "a")
    records = open(args.records, "w")
    seq = 0
    while active:
        i = rng.randrange(len(active))
        p, gen, last = active[i]
        try:
            req = gen.send(last) if last is not None else next(gen)
        except StopIteration:
            p.close()
            active.pop(i)
            continue
        resp = p.send(req)
        if resp.status != req.expect:
            sys.exit(f"forge_client: {p.name} {req.method} {req.target}: {resp.status}, expected {req.expect}: "
                     f"{resp.raw[:200]!r}")
        if want_server != "-" and resp.headers.get("server") != want_server:
            sys.exit(f"forge_client: {p.name} {req.method} {req.target}: not answered by {want_server}: {resp.headers}")
        active[i][2] = resp
        seq += 1
        req_len = len(req.body or b"")
        log.write(f"{req.method}\t{req.target}\t{resp.status}\t{req_len}\t{len(resp.raw)}\n")
        auth = req.headers.get("Authorization") or p.auth or ""
        records.write(json.dumps({
            "seq": seq, "persona": p.name, "addr": p.ip, "connection": p.connections,
            "method": req.method, "uri": req.target, "route": req.route, "status": resp.status,
            "auth": auth.split(" ")[0].lower() if auth else "none",
            "request_body_len": req_len, "response_body_len": len(resp.raw),
            "content_encoding": resp.headers.get("content-encoding", ""),
        }) + "\n")
    log.close()
    records.close()
    print(f"forge_client: {seq} requests", file=sys.stderr)


# --- truth: forge.expected-templates.tsv ----------------------------------------------------------


def anonymous(template):
    """/repos/{owner}/{repo} -> /repos/{}/{}: parameter names are not part of an endpoint."""
    return re.sub(r"\{[^}]*\}", "{}", template)


def cmd_truth(args):
    logged = []
    for line in open(args.log):
        parts = line.rstrip("\n").split("\t")
        if parts and parts[0]:
            logged.append((parts[0], parts[1]))
    meant = [(r["method"], r["uri"], r["route"]) for r in map(json.loads, open(args.records))]
    if [(m, u) for m, u, _ in meant] != logged:
        sys.exit("forge_client truth: the records and the client log disagree")
    counts = Counter()
    for (method, uri), (_, _, route) in zip(logged, meant):
        found = fs.match_route(method, uri)
        if found is None or found[0] is None:
            sys.exit(f"forge_client truth: {method} {uri} matches no route of forge_server.ROUTES")
        if found[0] != route:
            sys.exit(f"forge_client truth: {method} {uri} is {found[0]} on the server, the client meant {route}")
        counts[(method, route)] += 1
    order = {(m, t): i for i, (m, t, _) in enumerate(fs.ROUTES)}
    with open(args.out, "w") as f:
        f.write("method\ttemplate\trequests\tforge_template\n")
        for (method, route), n in sorted(counts.items(), key=lambda kv: order[kv[0]]):
            f.write(f"{method}\t{anonymous(route)}\t{n}\t{route}\n")
    never = [f"{m} {t}" for m, t, _ in fs.ROUTES if (m, t) not in counts]
    print(f"forge_client truth: {len(logged)} requests, {len(counts)} operations"
          + (f"; never called: {', '.join(never)}" if never else ""), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, default=8090)
    r.add_argument("--log", required=True)
    r.add_argument("--records", required=True)
    r.add_argument("--server", default="nginx",
                   help="the Server field every answer must carry (the proxy in front); - for any")
    t = sub.add_parser("truth")
    t.add_argument("--log", required=True)
    t.add_argument("--records", required=True)
    t.add_argument("--out", required=True)
    a = ap.parse_args()
    {"run": cmd_run, "truth": cmd_truth}[a.cmd](a)


if __name__ == "__main__":
    main()
