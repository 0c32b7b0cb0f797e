#!/usr/bin/env python3
"""Forge: a small GitHub-like JSON REST API for forge.pcap (`Host: api.forge.test`). Stdlib only.

    forge_server.py PORT          serve on 127.0.0.1:PORT (HTTP/1.1, keep-alive, one thread per
                                  connection); make.sh puts nginx in front of it

Every identifier is a string, as on GitHub: user and organisation logins (`octocat`, `bob_k`,
`Nova-Granite`), repository names (`next.js`, `my-project-123`), file names (`Cargo.toml`),
32-hex gist ids; only issue and pull request numbers are integers.

    GET    /user                                       the authenticated user (401 without a token)
    GET    /users/{username}                           a user or an organisation
    GET    /users/{username}/repos                     their repositories
    GET    /users/{username}/followers                 their followers
    GET    /orgs/{org}                                 an organisation (404 for a user)
    GET    /orgs/{org}/members                         its members
    GET    /orgs/{org}/members/{username}              204 when a member, 404 otherwise
    PUT    /orgs/{org}/members/{username}              add (org admins only): 200, the membership
    DELETE /orgs/{org}/members/{username}              remove (org admins only): 204
    GET    /repos/{owner}/{repo}                       a repository
    GET    /repos/{owner}/{repo}/issues                its open issues (and pull requests)
    POST   /repos/{owner}/{repo}/issues                open an issue: 201
    GET    /repos/{owner}/{repo}/issues/{issue_number} an issue (or pull request as an issue)
    PATCH  /repos/{owner}/{repo}/issues/{issue_number} edit it (labels, state, assignees)
    GET    /repos/{owner}/{repo}/issues/{issue_number}/comments
    GET    /repos/{owner}/{repo}/pulls                 its open pull requests
    GET    /repos/{owner}/{repo}/pulls/{pull_number}   a pull request (404 for a plain issue)
    GET    /repos/{owner}/{repo}/contents/{path}       a file at the top of the default branch
    GET    /repos/{owner}/{repo}/branches
    GET    /repos/{owner}/{repo}/releases/latest       404 when the repository has no release
    GET    /gists/public                               recent public gists
    GET    /gists/starred                              the authenticated user's starred gists
    GET    /gists/{gist_id}                            a gist
    GET    /search/repositories?q=...                  search by name, description, topic, owner
    GET    /search/users?q=...                         search by login and name
    GET    /rate_limit

Authentication is GitHub's: `Authorization: token <opaque>` or `Authorization: Bearer <opaque>`
(a classic personal access token `ghp_…`, an OAuth token `gho_…`, an installation token `ghs_…`);
an unknown token is 401 `Bad credentials` on every route. Errors have GitHub's JSON body
(`message`, `documentation_url`, `status`). Responses carry GitHub's headers (rate limits with a
per-principal counter, a weak ETag of the body, `Link` for paginated lists); `If-None-Match`
with the current ETag is answered 304. Everything is derived from fixed data and hashes of the
names, so the same requests get the same answers on every run (the `Date` header is nginx's).

ROUTES and match_route() are also the ground truth of forge.expected-templates.tsv
(forge_client.py truth).
"""

import base64
import datetime
import hashlib
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "api.forge.test"
API = f"https://{HOST}"
WEB = "https://forge.test"
RATE_RESET = 1717243200  # 2024-06-01T12:00:00Z, fixed so headers and bodies never change
EPOCH = 1546300800  # 2019-01-01: created_at values are counted from here

# --- the world ---------------------------------------------------------------------------------

# Organisations: login -> (display name, description, admins, members).
ORGS = {
    "rust-lang": ("The Rust Programming Language", "Empowering everyone to build reliable and efficient software.",
                  ["brson"], ["brson", "steveklabnik", "dtolnay", "carllerche", "alice38", "lin_wei"]),
    "facebook": ("Meta", "We are working to build community through open source technology.",
                 ["gaearon"], ["gaearon", "yyx990803", "kentcdodds", "m-smith"]),
    "vercel": ("Vercel", "Develop. Preview. Ship.", ["tj"], ["tj", "kentcdodds", "addyosmani"]),
    "kubernetes": ("Kubernetes", "Production-Grade Container Scheduling and Management",
                   ["mitchellh"], ["mitchellh", "hkim", "rkumar", "tanaka-yuki"]),
    "kubernetes-sigs": ("Kubernetes SIGs", "Org for Kubernetes SIG-related work", ["hkim"],
                        ["hkim", "rkumar", "quinn-t", "tanaka-yuki", "vlad-k"]),
    "microsoft": ("Microsoft", "Open source projects and samples from Microsoft", ["addyosmani"],
                  ["addyosmani", "p-dubois", "nadia-k"]),
    "golang": ("Go", "The Go Programming Language", ["ojas"], ["ojas", "sam-w"]),
    "acme-corp": ("Acme Corporation", "Internal services of Acme Corp.", ["jdoe"],
                  ["jdoe", "alice38", "bob_k", "carol-dev", "dave99", "m-smith", "frank_ops"]),
    "octo-org": ("Octo Org", "The octo organisation", ["octocat"], ["octocat", "mojombo", "defunkt", "jlord"]),
    "Nova-Granite": ("Nova Granite", "Design systems and data tooling", ["mariana-s"],
                     ["mariana-s", "kwame-a", "ursula-m", "grace-hopper-42", "eve-sec"]),
    "hashicorp": ("HashiCorp", "Consistent workflows to provision, secure, connect, and run any infrastructure",
                  ["mitchellh"], ["mitchellh", "jmartinez"]),
    "tokio-rs": ("Tokio", "Rust's asynchronous runtime", ["carllerche"], ["carllerche", "alice38"]),
    "nodejs": ("Node.js", "The Node.js JavaScript runtime", ["jlord"], ["jlord", "tj", "sam-w"]),
    "django": ("Django", "The web framework for perfectionists with deadlines", ["p-dubois"], ["p-dubois", "quinn-t"]),
}

# Users: login -> (name, company, location, blog).
USERS = {
    "octocat": ("The Octocat", "@forge", "San Francisco", "https://forge.blog"),
    "torvalds": ("Linus Torvalds", "Linux Foundation", "Portland, OR", ""),
    "jdoe": ("John Doe", "@acme-corp", "Berlin", "https://jdoe.dev"),
    "sindresorhus": ("Sindre Sorhus", None, "Thailand", "https://sindresorhus.com"),
    "dtolnay": ("David Tolnay", None, None, ""),
    "alice38": ("Alice Nguyen", "@acme-corp", "Lyon, France", ""),
    "m-smith": ("Morgan Smith", "@acme-corp", "Leeds", ""),
    "bob_k": ("Bob Kowalski", "Acme Corp", "Warsaw", ""),
    "gaearon": ("dan", None, "London", "https://overreacted.io"),
    "carllerche": ("Carl Lerche", None, "Portland", ""),
    "yyx990803": ("Evan You", None, "Singapore", "https://evanyou.me"),
    "kentcdodds": ("Kent C. Dodds", None, "Utah", "https://kentcdodds.com"),
    "mitchellh": ("Mitchell Hashimoto", None, "Los Angeles", "https://mitchellh.com"),
    "brson": ("Brian Anderson", None, None, ""),
    "steveklabnik": ("Steve Klabnik", None, "Austin, TX", "https://steveklabnik.com"),
    "ghost": ("Deleted user", None, None, ""),
    "mojombo": ("Tom Preston-Werner", None, "San Francisco", "https://tom.preston-werner.com"),
    "defunkt": ("Chris Wanstrath", None, None, "https://chriswanstrath.com"),
    "tj": ("TJ Holowaychuk", "Apex Software", "Victoria, BC", "https://apex.sh"),
    "addyosmani": ("Addy Osmani", "Google", "Mountain View", "https://addyosmani.com"),
    "jlord": ("Jessica Lord", None, "Portland", "https://jlord.us"),
    "carol-dev": ("Carol Danvers", "@acme-corp", "Toronto", ""),
    "dave99": ("Dave Miller", "@acme-corp", None, ""),
    "eve-sec": ("Eve Martin", "Nova Granite", "Amsterdam", ""),
    "frank_ops": ("Frank Osei", "@acme-corp", "Accra", ""),
    "grace-hopper-42": ("Grace H.", None, "Arlington, VA", ""),
    "hkim": ("Hyun Kim", None, "Seoul", ""),
    "jmartinez": ("Julia Martinez", "HashiCorp", "Madrid", ""),
    "kwame-a": ("Kwame Asante", "Nova Granite", "Kumasi", ""),
    "lin_wei": ("Lin Wei", None, "Shanghai", ""),
    "mariana-s": ("Mariana Silva", "Nova Granite", "Lisbon", "https://mariana.design"),
    "nadia-k": ("Nadia Karimi", "Microsoft", "Redmond", ""),
    "ojas": ("Ojas Patel", None, "Pune", ""),
    "p-dubois": ("Pierre Dubois", None, "Paris", ""),
    "quinn-t": ("Quinn Taylor", None, "Dublin", ""),
    "rkumar": ("Rahul Kumar", None, "Bengaluru", ""),
    "sam-w": ("Sam Wright", None, "Auckland", ""),
    "tanaka-yuki": ("Yuki Tanaka", None, "Tokyo", ""),
    "ursula-m": ("Ursula Meyer", "Nova Granite", "Zurich", ""),
    "vlad-k": ("Vlad Kuznetsov", None, "Tbilisi", ""),
}

# Repositories: (owner, name, language, description, topics, has_release, issue count).
REPOS = [
    ("rust-lang", "rustup", "Rust", "The Rust toolchain installer", ["rust", "toolchain"], True, 3921),
    ("rust-lang", "rust", "Rust", "Empowering everyone to build reliable and efficient software.",
     ["rust", "compiler", "language"], True, 128467),
    ("rust-lang", "cargo", "Rust", "The Rust package manager", ["rust", "package-manager"], True, 14213),
    ("rust-lang", "rust-analyzer", "Rust", "A Rust compiler front-end for IDEs", ["rust", "lsp"], True, 17290),
    ("facebook", "react", "JavaScript", "The library for web and native user interfaces.", ["react", "ui"], True, 29120),
    ("facebook", "react-native", "C++", "A framework for building native applications using React",
     ["react", "mobile"], True, 44690),
    ("facebook", "jest", "TypeScript", "Delightful JavaScript Testing.", ["testing"], True, 15102),
    ("vercel", "next.js", "JavaScript", "The React Framework", ["react", "nextjs"], True, 65833),
    ("vercel", "swr", "TypeScript", "React Hooks for Data Fetching", ["react", "hooks"], True, 2890),
    ("kubernetes", "kubernetes", "Go", "Production-Grade Container Scheduling and Management",
     ["kubernetes", "containers"], True, 124881),
    ("kubernetes-sigs", "kind", "Go", "Kubernetes IN Docker - local clusters for testing Kubernetes",
     ["kubernetes", "docker"], True, 3611),
    ("kubernetes-sigs", "kustomize", "Go", "Customization of kubernetes YAML configurations",
     ["kubernetes", "yaml"], True, 5640),
    ("microsoft", "vscode", "TypeScript", "Visual Studio Code", ["editor"], True, 212345),
    ("microsoft", "TypeScript", "TypeScript", "TypeScript is a superset of JavaScript that compiles to clean JavaScript output.",
     ["typescript", "language"], True, 58901),
    ("golang", "go", "Go", "The Go programming language", ["go", "language"], True, 67312),
    ("acme-corp", "my-project-123", "Python", "Scratch project for the 2024 onboarding", [], False, 48),
    ("acme-corp", "billing-service", "Go", "Invoices, payments and dunning", ["billing", "internal"], True, 612),
    ("acme-corp", "infra-live", "HCL", "Terraform for the production accounts", ["terraform"], False, 233),
    ("octo-org", "octo-repo", "Ruby", "The octo repository", [], True, 97),
    ("octo-org", "hello-world", "Ruby", "My first repository on Forge!", [], False, 12),
    ("Nova-Granite", "granite-ui", "TypeScript", "Granite design system components", ["design-system", "react"], True, 1288),
    ("Nova-Granite", "nova_core", "Rust", "Core data pipeline of Nova", ["data"], True, 402),
    ("hashicorp", "terraform", "Go", "Terraform enables you to safely and predictably create, change, and improve infrastructure.",
     ["terraform", "iac"], True, 35012),
    ("tokio-rs", "tokio", "Rust", "A runtime for writing reliable asynchronous applications with Rust.",
     ["rust", "async"], True, 6543),
    ("nodejs", "node", "JavaScript", "Node.js JavaScript runtime", ["nodejs", "javascript"], True, 52980),
    ("django", "django", "Python", "The Web framework for perfectionists with deadlines.", ["python", "web"], True, 18122),
    ("octocat", "Hello-World", None, "My first repository on Forge!", [], False, 3120),
    ("octocat", "Spoon-Knife", "HTML", "This repo is for demonstration purposes only.", [], False, 31077),
    ("torvalds", "linux", "C", "Linux kernel source tree", ["kernel"], False, 1002),
    ("jdoe", "dotfiles", "Shell", "My dotfiles", ["dotfiles"], False, 9),
    ("sindresorhus", "awesome", None, "Awesome lists about all kinds of interesting topics", ["lists"], False, 2788),
    ("dtolnay", "anyhow", "Rust", "Flexible concrete Error type built on std::error::Error", ["rust"], True, 380),
    ("dtolnay", "syn", "Rust", "Parser for Rust source code", ["rust", "parser"], True, 1712),
    ("alice38", "advent-of-code-2023", "Rust", "Solutions, one binary per day", ["advent-of-code"], False, 3),
]

FILES_BY_LANGUAGE = {
    "Rust": ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"],
    "JavaScript": ["package.json", "yarn.lock", ".eslintrc.js"],
    "TypeScript": ["package.json", "tsconfig.json", "pnpm-lock.yaml"],
    "C++": ["package.json", "CMakeLists.txt"],
    "Go": ["go.mod", "go.sum", "Makefile"],
    "Python": ["pyproject.toml", "setup.py", "requirements.txt"],
    "Ruby": ["Gemfile", "Rakefile"],
    "HCL": ["main.tf", "versions.tf"],
    "C": ["Makefile", "Kconfig"],
    "Shell": ["install.sh", ".bashrc"],
    "HTML": ["index.html", "styles.css"],
    None: [],
}
COMMON_FILES = ["README.md", "LICENSE", ".gitignore", "CONTRIBUTING.md", "CODEOWNERS", "Dockerfile", "SECURITY.md"]

# Gists: (id, owner, description, file name, public).
GISTS = [
    ("aa5a315d61ae9438b18d2b4c7f1a9e02", "octocat", "Hello World Examples", "hello_world.rb", True),
    ("6cad326836d38bd3a7ae8bd9f5c4b1e7", "dtolnay", "Macro expansion notes", "expand.rs", True),
    ("0f3a7c9e2b8d41f6a5e2c7d9b1a3f804", "sindresorhus", "Pure ESM package", "esm-package.md", True),
    ("d41d8cd98f00b204e9800998ecf8427e", "jdoe", "", "empty.txt", False),
    ("3b5d5c3712955042212316173ccf37be", "gaearon", "A complete guide to useEffect (draft)", "use-effect.md", True),
    ("8c1f2e4a6b9d0357e1c4a8f2b6d9e031", "mitchellh", "Vagrantfile for the demo", "Vagrantfile", True),
    ("e2c6b1f09a8d7354c2e1b0a9f8d7c6b5", "alice38", "kubectl one-liners", "kubectl.sh", True),
    ("1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a", "tj", "Makefile tips", "Makefile", True),
    ("9f8e7d6c5b4a39281706f5e4d3c2b1a0", "kentcdodds", "Testing library cheatsheet", "cheatsheet.md", True),
    ("57a1c3e5b7d9f0e2c4a6b8d0f1e3c5a7", "bob_k", "psql snippets", "snippets.sql", False),
    ("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf", "yyx990803", "reactivity in 50 lines", "reactive.js", True),
    ("c7d8e9f0a1b2c3d4e5f60718293a4b5c", "m-smith", "On-call runbook", "runbook.md", True),
]
STARRED = {  # login -> gist ids starred
    "octocat": ["6cad326836d38bd3a7ae8bd9f5c4b1e7", "3b5d5c3712955042212316173ccf37be", "1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a"],
    "alice38": ["aa5a315d61ae9438b18d2b4c7f1a9e02", "6cad326836d38bd3a7ae8bd9f5c4b1e7", "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                "c7d8e9f0a1b2c3d4e5f60718293a4b5c"],
    "jdoe": [],
}


def _token(prefix, seed):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    digest = hashlib.sha256(seed.encode()).digest() * 2
    return prefix + "".join(alphabet[b % len(alphabet)] for b in digest[:36])


# Tokens: value -> (login, kind, scopes).
TOKENS = {
    _token("ghp_", "dashboard"): ("octocat", "personal", "repo, read:org, gist"),
    _token("gho_", "gh-cli"): ("alice38", "oauth", "gist, read:org, repo, workflow"),
    _token("ghs_", "ci-bot"): ("acme-ci[bot]", "installation", ""),
    _token("gho_", "org-admin"): ("jdoe", "oauth", "admin:org, repo"),
    _token("ghp_", "gist-sync"): ("alice38", "personal", "gist"),
    _token("gho_", "mobile"): ("m-smith", "oauth", "repo, user, notifications"),
    _token("ghp_", "search"): ("bob_k", "personal", "public_repo"),
}
REVOKED_TOKEN = _token("ghp_", "revoked")


def token_for(persona):
    """The token a persona of forge_client.py presents."""
    return _token({"dashboard": "ghp_", "gh-cli": "gho_", "ci-bot": "ghs_", "org-admin": "gho_",
                   "gist-sync": "ghp_", "mobile": "gho_", "search": "ghp_", "revoked": "ghp_"}[persona], persona)


# --- derived data --------------------------------------------------------------------------------


def h(*parts):
    return int.from_bytes(hashlib.sha256("\0".join(str(p) for p in parts).encode()).digest()[:8], "big")


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind, num):
    return base64.b64encode(f"0{len(kind)}:{kind}{num}".encode()).decode()


def sha1(*parts):
    return hashlib.sha1("\0".join(str(p) for p in parts).encode()).hexdigest()


OWNERS = {}  # login -> "User" | "Organization"
for _o in ORGS:
    OWNERS[_o] = "Organization"
for _u in USERS:
    OWNERS[_u] = "User"
REPO_INDEX = {(r[0].lower(), r[1].lower()): r for r in REPOS}
GIST_INDEX = {g[0]: g for g in GISTS}
MEMBERS = {org: list(v[3]) for org, v in ORGS.items()}  # mutable: PUT and DELETE change it
LOCK = threading.Lock()
ISSUES_OPENED = {}  # (owner, repo) -> {number: issue}, issues opened by POST
ISSUE_EDITS = {}  # (owner, repo, number) -> fields changed by PATCH


def canonical_owner(login):
    for k in OWNERS:
        if k.lower() == login.lower():
            return k
    return None


def account_id(login):
    return 1000 + h("account", login) % 9_000_000


def simple_user(login):
    kind = OWNERS.get(login, "Bot" if login.endswith("[bot]") else "User")
    uid = account_id(login)
    return {
        "login": login,
        "id": uid,
        "avatar_url": f"https://avatars.forge.test/u/{uid}?v=4",
        "type": kind,
        "site_admin": login == "octocat",
    }


def full_user(login):
    if OWNERS.get(login) == "Organization":
        name, desc = ORGS[login][0], ORGS[login][1]
        company, location, blog = None, None, f"https://{login.lower()}.example"
        bio = desc
    else:
        name, company, location, blog = USERS[login]
        bio = None
    n = h("profile", login)
    created = EPOCH - (n % 300_000_000)
    uid = account_id(login)
    return {
        **simple_user(login),
        "node_id": node_id(OWNERS[login], uid),
        "html_url": f"{WEB}/{login}",
        "name": name,
        "company": company,
        "blog": blog,
        "location": location,
        "bio": bio,
        "public_repos": sum(1 for r in REPOS if r[0] == login) + n % 40,
        "public_gists": sum(1 for g in GISTS if g[1] == login),
        "followers": (n >> 8) % (90_000 if login in ("torvalds", "gaearon", "sindresorhus") else 900),
        "following": (n >> 20) % 60,
        "created_at": iso(created),
        "updated_at": iso(created + 100_000_000 + n % 50_000_000),
    }


def org_json(login):
    name, desc, _admins, _members = ORGS[login]
    oid = account_id(login)
    return {
        "login": login,
        "id": oid,
        "node_id": node_id("Organization", oid),
        "url": f"{API}/orgs/{login}",
        "repos_url": f"{API}/orgs/{login}/repos",
        "members_url": f"{API}/orgs/{login}/members{{/member}}",
        "avatar_url": f"https://avatars.forge.test/u/{oid}?v=4",
        "description": desc,
        "name": name,
        "is_verified": h("verified", login) % 2 == 0,
        "public_repos": sum(1 for r in REPOS if r[0] == login),
        "followers": h("followers", login) % 20_000,
        "html_url": f"{WEB}/{login}",
        "created_at": iso(EPOCH - h("org", login) % 200_000_000),
        "type": "Organization",
    }


def repo_json(r):
    owner, name, lang, desc, topics, _rel, issues = r
    rid = 10_000_000 + h("repo", owner, name) % 700_000_000
    n = h("stats", owner, name)
    stars = n % (200_000 if issues > 10_000 else 2_000)
    return {
        "id": rid,
        "node_id": node_id("Repository", rid),
        "name": name,
        "full_name": f"{owner}/{name}",
        "private": owner == "acme-corp",
        "owner": simple_user(owner),
        "html_url": f"{WEB}/{owner}/{name}",
        "description": desc,
        "fork": False,
        "language": lang,
        "stargazers_count": stars,
        "forks_count": stars // 7,
        "open_issues_count": (n >> 16) % 900,
        "topics": topics,
        "default_branch": "master" if owner in ("torvalds", "octocat", "django") else "main",
        "visibility": "private" if owner == "acme-corp" else "public",
        "created_at": iso(EPOCH - n % 250_000_000),
        "pushed_at": iso(EPOCH + 160_000_000 + (n >> 24) % 1_000_000),
    }


def is_pull(r, number):
    return h("kind", r[0], r[1], number) % 3 == 0


def label_set(r, number):
    labels = ["bug", "enhancement", "documentation", "good first issue", "needs-triage", "A-diagnostics", "C-bug"]
    k = h("labels", r[0], r[1], number)
    return [labels[k % len(labels)]] + ([labels[(k >> 8) % len(labels)]] if k % 5 == 0 else [])


USER_POOL = sorted(USERS)


def issue_json(r, number):
    owner, name = r[0], r[1]
    opened = ISSUES_OPENED.get((owner, name), {}).get(number)
    if opened is not None:
        base = dict(opened)
    else:
        k = h("issue", owner, name, number)
        author = USER_POOL[k % len(USER_POOL)]
        titles = ["Panic when the config file is empty", "Support for ARM64 Windows", "Docs: typo in the guide",
                  "Regression in 1.4: build takes twice as long", "Add a --quiet flag", "Flaky test on CI",
                  "Improve error message for missing field", "Feature request: dark mode"]
        base = {
            "number": number,
            "title": titles[(k >> 8) % len(titles)],
            "user": simple_user(author),
            "labels": [{"name": l, "color": sha1(l)[:6]} for l in label_set(r, number)],
            "state": "open",
            "locked": False,
            "assignees": [],
            "comments": (k >> 16) % 5,
            "created_at": iso(EPOCH + 100_000_000 + number * 600 % 60_000_000),
            "body": "Steps to reproduce are in the first comment.",
        }
    base.update(ISSUE_EDITS.get((owner, name, number), {}))
    iid = 100_000_000 + h("issue-id", owner, name, number) % 2_000_000_000
    out = {
        "id": iid,
        "node_id": node_id("Issue", iid),
        "url": f"{API}/repos/{owner}/{name}/issues/{number}",
        "html_url": f"{WEB}/{owner}/{name}/issues/{number}",
        **base,
    }
    if is_pull(r, number) and opened is None:
        out["pull_request"] = {"url": f"{API}/repos/{owner}/{name}/pulls/{number}",
                               "html_url": f"{WEB}/{owner}/{name}/pull/{number}"}
    return out


def pull_json(r, number):
    owner, name = r[0], r[1]
    k = h("pull", owner, name, number)
    issue = issue_json(r, number)
    branch = ["fix-typo", "feature/arm64", "bump-deps", "refactor-parser", "ci-cache"][k % 5]
    return {
        "id": issue["id"] + 7,
        "node_id": node_id("PullRequest", issue["id"] + 7),
        "number": number,
        "state": "open",
        "title": issue["title"],
        "user": issue["user"],
        "draft": k % 4 == 0,
        "head": {"label": f"{issue['user']['login']}:{branch}", "ref": branch, "sha": sha1("head", owner, name, number)},
        "base": {"label": f"{owner}:main", "ref": "main", "sha": sha1("base", owner, name)},
        "mergeable": k % 3 != 0,
        "commits": 1 + (k >> 8) % 12,
        "additions": (k >> 12) % 800,
        "deletions": (k >> 20) % 300,
        "changed_files": 1 + (k >> 28) % 20,
        "created_at": issue["created_at"],
        "html_url": f"{WEB}/{owner}/{name}/pull/{number}",
    }


def open_numbers(r, count, pulls_only=False):
    """The most recent open issue numbers of a repository (newest first)."""
    out = []
    opened = sorted(ISSUES_OPENED.get((r[0], r[1]), {}), reverse=True)
    if not pulls_only:
        out += [n for n in opened if ISSUE_EDITS.get((r[0], r[1], n), {}).get("state") != "closed"]
    n = r[6]
    while len(out) < count and n > 0:
        closed = h("closed", r[0], r[1], n) % 4 == 0 or ISSUE_EDITS.get((r[0], r[1], n), {}).get("state") == "closed"
        if not closed and (not pulls_only or is_pull(r, n)):
            out.append(n)
        n -= 1
    return out[:count]


def repo_files(r):
    files = COMMON_FILES[:3] + FILES_BY_LANGUAGE[r[2]]
    files += [f for f in COMMON_FILES[3:] if h("has", r[0], r[1], f) % 2 == 0]
    return files


def file_content(r, path):
    owner, name, lang, desc = r[0], r[1], r[2], r[3]
    if path == "README.md":
        return f"# {name}\n\n{desc}\n\nSee CONTRIBUTING.md to get started.\n"
    if path == "Cargo.toml":
        return f'[package]\nname = "{name}"\nversion = "1.{h(name) % 80}.0"\nedition = "2021"\n'
    if path == "package.json":
        return json.dumps({"name": name.lower(), "version": f"{h(name) % 19}.{h(name, 1) % 10}.0", "private": True,
                           "scripts": {"test": "jest"}}, indent=2) + "\n"
    if path == "go.mod":
        return f"module forge.test/{owner}/{name}\n\ngo 1.22\n"
    if path == "LICENSE":
        return "MIT License\n\nCopyright (c) 2024\n"
    if path == ".gitignore":
        return {"Rust": "/target\n", "Go": "/bin\n"}.get(lang, "node_modules/\n.env\n")
    return f"{path} of {owner}/{name}\n"


def content_json(r, path):
    owner, name = r[0], r[1]
    data = file_content(r, path).encode()
    sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path,
        "path": path,
        "content": base64.encodebytes(data).decode(),
        "sha": sha,
        "url": f"{API}/repos/{owner}/{name}/contents/{path}?ref=main",
        "html_url": f"{WEB}/{owner}/{name}/blob/main/{path}",
        "download_url": f"https://raw.forge.test/{owner}/{name}/main/{path}",
    }


def branches_json(r):
    owner, name = r[0], r[1]
    default = repo_json(r)["default_branch"]
    extra = ["develop", "release-1.x", "gh-pages", "renovate/configure", "stable", "beta"]
    k = h("branches", owner, name)
    names = [default] + [b for i, b in enumerate(extra) if (k >> i) & 1]
    return [{"name": b, "commit": {"sha": sha1("branch", owner, name, b),
                                   "url": f"{API}/repos/{owner}/{name}/commits/{sha1('branch', owner, name, b)}"},
             "protected": b == default} for b in names]


def release_json(r):
    owner, name = r[0], r[1]
    k = h("release", owner, name)
    tag = f"v{k % 5}.{(k >> 8) % 30}.{(k >> 16) % 10}"
    rid = 50_000_000 + k % 100_000_000
    return {
        "id": rid,
        "node_id": node_id("Release", rid),
        "tag_name": tag,
        "name": f"{name} {tag}",
        "draft": False,
        "prerelease": False,
        "author": simple_user(ORGS[owner][2][0] if owner in ORGS else owner),
        "created_at": iso(EPOCH + 150_000_000 + k % 10_000_000),
        "published_at": iso(EPOCH + 150_000_100 + k % 10_000_000),
        "html_url": f"{WEB}/{owner}/{name}/releases/tag/{tag}",
        "tarball_url": f"{API}/repos/{owner}/{name}/tarball/{tag}",
        "assets": [],
        "body": "## What's Changed\n* Fixes and improvements",
    }


def gist_json(g, full=True):
    gid, owner, desc, fname, public = g
    body = f"// {desc or fname}\n"
    out = {
        "id": gid,
        "node_id": node_id("Gist", gid),
        "url": f"{API}/gists/{gid}",
        "html_url": f"https://gist.forge.test/{owner}/{gid}",
        "public": public,
        "description": desc,
        "owner": simple_user(owner),
        "files": {fname: {"filename": fname, "size": len(body), "raw_url": f"https://gist.forge.test/raw/{gid}/{fname}"}},
        "comments": h("gist-comments", gid) % 7,
        "created_at": iso(EPOCH + 120_000_000 + h("gist", gid) % 30_000_000),
    }
    if full:
        out["files"][fname]["content"] = body
        out["files"][fname]["truncated"] = False
    return out


def comment_json(r, number, i):
    k = h("comment", r[0], r[1], number, i)
    cid = 1_000_000_000 + k % 900_000_000
    return {
        "id": cid,
        "node_id": node_id("IssueComment", cid),
        "user": simple_user(USER_POOL[k % len(USER_POOL)]),
        "body": ["+1", "I can reproduce this on main.", "Fixed in the latest nightly?", "Any update on this?"][(k >> 8) % 4],
        "author_association": ["NONE", "CONTRIBUTOR", "MEMBER"][(k >> 12) % 3],
        "created_at": iso(EPOCH + 130_000_000 + k % 20_000_000),
    }


def followers_of(login):
    k = h("followers-of", login)
    pool = [u for u in USER_POOL if u != login]
    return [pool[(k >> (i * 5)) % len(pool)] for i in range(2 + k % 5)]


# --- the route table -----------------------------------------------------------------------------

# (method, template, handler name). Literal segments win over parameters at the same position
# (`/gists/public` before `/gists/{gist_id}`), as GitHub's router does.
ROUTES = [
    ("GET", "/user", "get_authenticated_user"),
    ("GET", "/users/{username}", "get_user"),
    ("GET", "/users/{username}/repos", "list_user_repos"),
    ("GET", "/users/{username}/followers", "list_followers"),
    ("GET", "/orgs/{org}", "get_org"),
    ("GET", "/orgs/{org}/members", "list_members"),
    ("GET", "/orgs/{org}/members/{username}", "check_member"),
    ("PUT", "/orgs/{org}/members/{username}", "add_member"),
    ("DELETE", "/orgs/{org}/members/{username}", "remove_member"),
    ("GET", "/repos/{owner}/{repo}", "get_repo"),
    ("GET", "/repos/{owner}/{repo}/issues", "list_issues"),
    ("POST", "/repos/{owner}/{repo}/issues", "create_issue"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}", "get_issue"),
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", "update_issue"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "list_comments"),
    ("GET", "/repos/{owner}/{repo}/pulls", "list_pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "get_pull"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}", "get_content"),
    ("GET", "/repos/{owner}/{repo}/branches", "list_branches"),
    ("GET", "/repos/{owner}/{repo}/releases/latest", "get_latest_release"),
    ("GET", "/gists/public", "list_public_gists"),
    ("GET", "/gists/starred", "list_starred_gists"),
    ("GET", "/gists/{gist_id}", "get_gist"),
    ("GET", "/search/repositories", "search_repos"),
    ("GET", "/search/users", "search_users"),
    ("GET", "/rate_limit", "rate_limit"),
]


def split_path(path):
    return [urllib.parse.unquote(s) for s in path.split("?", 1)[0].split("/") if s]


def match_route(method, target):
    """(route template, handler name, {param: value}) for a request, or None when no route
    matches the path, or (None, "method_not_allowed", {}) when only the method is wrong.
    Literal segments beat parameters position by position."""
    segs = split_path(target)
    best = None
    path_matched = False
    for m, template, handler in ROUTES:
        tsegs = [s for s in template.split("/") if s]
        if len(tsegs) != len(segs):
            continue
        params, score = {}, []
        for t, s in zip(tsegs, segs):
            if t.startswith("{"):
                params[t[1:-1]] = s
                score.append(0)
            elif t == s:
                score.append(1)
            else:
                break
        else:
            path_matched = True
            if m == method and (best is None or score > best[0]):
                best = (score, template, handler, params)
    if best is not None:
        return best[1], best[2], best[3]
    if path_matched:
        return None, "method_not_allowed", {}
    return None


# --- HTTP ---------------------------------------------------------------------------------------

DOCS = "https://docs.forge.test/rest"


class Reply(Exception):
    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def error(status, message, doc):
    return Reply(status, {"message": message, "documentation_url": f"{DOCS}/{doc}", "status": str(status)})


USED = {}  # principal -> requests so far (rate-limit headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body leave at once (no 40 ms delayed-ACK stalls)
    server_version = "forge/2.11"
    sys_version = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.headers.get("X-Real-IP", "-"), fmt % args))

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # -- plumbing --

    def dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.principal = None
        self.token_info = None
        extra = {}
        try:
            if self.headers.get("Host", "").split(":")[0] != HOST:
                raise error(404, "Not Found", "overview")
            self.authenticate()
            found = match_route(self.command, self.path)
            if found is None:
                raise error(404, "Not Found", "overview")
            template, handler, params = found
            if handler == "method_not_allowed":
                raise error(405, "Method Not Allowed", "overview")
            self.query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            self.json_body = json.loads(raw) if raw else None
            with LOCK:
                result = getattr(self, handler)(**params)
            status, body = (200, result) if not isinstance(result, tuple) else result[:2]
            if isinstance(result, tuple) and len(result) > 2:
                extra = result[2]
        except Reply as r:
            status, body, extra = r.status, r.body, r.headers
        except (ValueError, KeyError) as e:
            status, body = 400, {"message": f"Problems parsing JSON: {e}", "documentation_url": DOCS, "status": "400"}
        self.send(status, body, extra)

    def authenticate(self):
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, value = auth.partition(" ")
            info = TOKENS.get(value.strip()) if scheme.lower() in ("token", "bearer") else None
            if info is None:
                raise error(401, "Bad credentials", "overview/troubleshooting-the-rest-api")
            self.token_info = info
            self.principal = info[0]

    def require_token(self, doc):
        if self.principal is None:
            raise error(401, "Requires authentication", doc)

    def send(self, status, body, extra):
        data = b"" if body is None or status in (204, 304) else json.dumps(body, separators=(",", ":")).encode()
        key = self.principal or self.headers.get("X-Real-IP", self.client_address[0])
        search = self.path.startswith("/search/")
        bucket = ("search" if search else "core", key)
        etag = 'W/"%s"' % hashlib.sha256(data).hexdigest()[:40] if data else None
        if status == 200 and self.command == "GET" and etag and self.headers.get("If-None-Match") == etag:
            status, data = 304, b""  # not counted against the rate limit, as on GitHub
        else:
            USED[bucket] = USED.get(bucket, 0) + 1
        limit = (30 if search else 5000) if self.principal else (10 if search else 60)
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "private, max-age=60, s-maxage=60" if self.principal
                         else "public, max-age=60, s-maxage=60")
        if etag and status in (200, 304):
            self.send_header("ETag", etag)
        if self.token_info:
            self.send_header("X-OAuth-Scopes", self.token_info[2])
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("X-RateLimit-Limit", str(limit))
        self.send_header("X-RateLimit-Remaining", str(max(0, limit - USED.get(bucket, 0))))
        self.send_header("X-RateLimit-Reset", str(RATE_RESET))
        self.send_header("X-Forge-Request-Id", "%04X:%05X:%06X" % (h("rid", self.path) % 0xFFFF, len(USED),
                                                                   sum(USED.values())))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    # -- lookups --

    def repo(self, owner, repo, doc="repos/repos#get-a-repository"):
        r = REPO_INDEX.get((owner.lower(), repo.lower()))
        if r is None or (r[0] == "acme-corp" and self.principal not in MEMBERS["acme-corp"] + ["acme-ci[bot]"]):
            raise error(404, "Not Found", doc)  # private repositories are 404 to outsiders
        return r

    def issue_number(self, r, number, doc):
        if not number.isdigit() or int(number) < 1:
            raise error(404, "Not Found", doc)
        n = int(number)
        if n > r[6] and n not in ISSUES_OPENED.get((r[0], r[1]), {}):
            raise error(404, "Not Found", doc)
        return n

    def per_page(self, default=30):
        try:
            return max(1, min(100, int(self.query.get("per_page", [default])[0])))
        except ValueError:
            return default

    def page(self):
        try:
            return max(1, int(self.query.get("page", ["1"])[0]))
        except ValueError:
            return 1

    def paginate(self, items, base):
        per, page = self.per_page(), self.page()
        chunk = items[(page - 1) * per: page * per]
        last = max(1, (len(items) + per - 1) // per)
        links = []
        if page < last:
            links.append(f'<{API}{base}?per_page={per}&page={page + 1}>; rel="next"')
            links.append(f'<{API}{base}?per_page={per}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{API}{base}?per_page={per}&page=1>; rel="first"')
        return (200, chunk, {"Link": ", ".join(links)} if links else {})

    # -- handlers --

    def get_authenticated_user(self):
        self.require_token("users/users#get-the-authenticated-user")
        login = self.principal
        if login not in USERS:
            raise error(403, "Resource not accessible by integration", "users/users#get-the-authenticated-user")
        u = full_user(login)
        u.update({"private_gists": sum(1 for g in GISTS if g[1] == login and not g[4]),
                  "two_factor_authentication": True,
                  "plan": {"name": "pro", "space": 976562499, "private_repos": 9999}})
        return u

    def get_user(self, username):
        login = canonical_owner(username)
        if login is None:
            raise error(404, "Not Found", "users/users#get-a-user")
        return full_user(login)

    def list_user_repos(self, username):
        login = canonical_owner(username)
        if login is None:
            raise error(404, "Not Found", "repos/repos#list-repositories-for-a-user")
        repos = [repo_json(r) for r in REPOS if r[0] == login and repo_json(r)["visibility"] == "public"]
        return self.paginate(repos, f"/users/{login}/repos")

    def list_followers(self, username):
        login = canonical_owner(username)
        if login is None:
            raise error(404, "Not Found", "users/followers#list-followers-of-a-user")
        return self.paginate([simple_user(u) for u in followers_of(login)], f"/users/{login}/followers")

    def get_org(self, org):
        login = canonical_owner(org)
        if login not in ORGS:
            raise error(404, "Not Found", "orgs/orgs#get-an-organization")
        return org_json(login)

    def org(self, org, doc):
        login = canonical_owner(org)
        if login not in ORGS:
            raise error(404, "Not Found", doc)
        return login

    def list_members(self, org):
        login = self.org(org, "orgs/members#list-organization-members")
        return self.paginate([simple_user(u) for u in sorted(MEMBERS[login], key=str.lower)], f"/orgs/{login}/members")

    def check_member(self, org, username):
        login = self.org(org, "orgs/members#check-organization-membership-for-a-user")
        if username in MEMBERS[login]:
            return (204, None)
        raise error(404, "User does not exist or is not a member of the organization",
                    "orgs/members#check-organization-membership-for-a-user")

    def admin_of(self, login, doc):
        self.require_token(doc)
        if self.principal not in ORGS[login][2] and not (login == "acme-corp" and self.principal == "jdoe"):
            raise error(403, "You must be an admin to change the members of this organization", doc)

    def add_member(self, org, username):
        doc = "orgs/members#set-organization-membership-for-a-user"
        login = self.org(org, doc)
        self.admin_of(login, doc)
        if username not in USERS:
            raise error(404, "Not Found", doc)
        role = (self.json_body or {}).get("role", "member")
        if role not in ("member", "admin"):
            raise error(422, "Validation Failed", doc)
        state = "active" if username in MEMBERS[login] else "pending"
        if username not in MEMBERS[login]:
            MEMBERS[login].append(username)
        return {"url": f"{API}/orgs/{login}/memberships/{username}", "state": state, "role": role,
                "organization": {"login": login, "id": account_id(login)}, "user": simple_user(username)}

    def remove_member(self, org, username):
        doc = "orgs/members#remove-an-organization-member"
        login = self.org(org, doc)
        self.admin_of(login, doc)
        if username not in MEMBERS[login]:
            raise error(404, "Not Found", doc)
        MEMBERS[login].remove(username)
        return (204, None)

    def get_repo(self, owner, repo):
        return repo_json(self.repo(owner, repo))

    def list_issues(self, owner, repo):
        r = self.repo(owner, repo, "issues/issues#list-repository-issues")
        per = self.per_page()
        numbers = open_numbers(r, per * self.page())[-per:]
        return (200, [issue_json(r, n) for n in numbers],
                {"Link": f'<{API}/repositories/{repo_json(r)["id"]}/issues?page={self.page() + 1}>; rel="next"'})

    def create_issue(self, owner, repo):
        doc = "issues/issues#create-an-issue"
        self.require_token(doc)
        r = self.repo(owner, repo, doc)
        body = self.json_body or {}
        if not isinstance(body.get("title"), str) or not body["title"]:
            raise error(422, "Validation Failed", doc)
        opened = ISSUES_OPENED.setdefault((r[0], r[1]), {})
        number = r[6] + 1 + len(opened)
        opened[number] = {
            "number": number, "title": body["title"], "user": simple_user(self.principal),
            "labels": [{"name": l, "color": sha1(l)[:6]} for l in body.get("labels", [])],
            "state": "open", "locked": False,
            "assignees": [simple_user(a) for a in body.get("assignees", [])],
            "comments": 0, "created_at": iso(EPOCH + 170_000_000 + number), "body": body.get("body"),
        }
        issue = issue_json(r, number)
        return (201, issue, {"Location": issue["url"]})

    def get_issue(self, owner, repo, issue_number):
        doc = "issues/issues#get-an-issue"
        r = self.repo(owner, repo, doc)
        return issue_json(r, self.issue_number(r, issue_number, doc))

    def update_issue(self, owner, repo, issue_number):
        doc = "issues/issues#update-an-issue"
        self.require_token(doc)
        r = self.repo(owner, repo, doc)
        n = self.issue_number(r, issue_number, doc)
        body = self.json_body or {}
        edits = ISSUE_EDITS.setdefault((r[0], r[1], n), {})
        if "state" in body:
            if body["state"] not in ("open", "closed"):
                raise error(422, "Validation Failed", doc)
            edits["state"] = body["state"]
            if body["state"] == "closed":
                edits["state_reason"] = body.get("state_reason", "completed")
        if "labels" in body:
            edits["labels"] = [{"name": l, "color": sha1(l)[:6]} for l in body["labels"]]
        if "assignees" in body:
            edits["assignees"] = [simple_user(a) for a in body["assignees"]]
        if "title" in body:
            edits["title"] = body["title"]
        return issue_json(r, n)

    def list_comments(self, owner, repo, issue_number):
        doc = "issues/comments#list-issue-comments"
        r = self.repo(owner, repo, doc)
        n = self.issue_number(r, issue_number, doc)
        count = issue_json(r, n)["comments"]
        return [comment_json(r, n, i) for i in range(count)]

    def list_pulls(self, owner, repo):
        r = self.repo(owner, repo, "pulls/pulls#list-pull-requests")
        per = self.per_page()
        return [pull_json(r, n) for n in open_numbers(r, per * self.page(), pulls_only=True)[-per:]]

    def get_pull(self, owner, repo, pull_number):
        doc = "pulls/pulls#get-a-pull-request"
        r = self.repo(owner, repo, doc)
        n = self.issue_number(r, pull_number, doc)
        if not is_pull(r, n) or n in ISSUES_OPENED.get((r[0], r[1]), {}):
            raise error(404, "Not Found", doc)
        return pull_json(r, n)

    def get_content(self, owner, repo, path):
        doc = "repos/contents#get-repository-content"
        r = self.repo(owner, repo, doc)
        if path not in repo_files(r):
            raise error(404, "Not Found", doc)
        return content_json(r, path)

    def list_branches(self, owner, repo):
        return branches_json(self.repo(owner, repo, "branches/branches#list-branches"))

    def get_latest_release(self, owner, repo):
        doc = "releases/releases#get-the-latest-release"
        r = self.repo(owner, repo, doc)
        if not r[5]:
            raise error(404, "Not Found", doc)
        return release_json(r)

    def list_public_gists(self):
        public = [gist_json(g, full=False) for g in GISTS if g[4]]
        public.sort(key=lambda g: g["created_at"], reverse=True)
        return self.paginate(public, "/gists/public")

    def list_starred_gists(self):
        self.require_token("gists/gists#list-starred-gists")
        return [gist_json(GIST_INDEX[g], full=False) for g in STARRED.get(self.principal, [])]

    def get_gist(self, gist_id):
        g = GIST_INDEX.get(gist_id)
        if g is None or (not g[4] and self.principal != g[1]):
            raise error(404, "Not Found", "gists/gists#get-a-gist")
        return gist_json(g)

    def q(self, doc):
        q = self.query.get("q", [""])[0].strip()
        if not q:
            raise Reply(422, {"message": "Validation Failed", "errors": [{"resource": "Search", "field": "q",
                                                                          "code": "missing"}],
                              "documentation_url": f"{DOCS}/{doc}", "status": "422"})
        return q

    def search_repos(self):
        q = self.q("search/search#search-repositories")
        words = [w for w in q.split() if ":" not in w]
        quals = dict(w.split(":", 1) for w in q.split() if ":" in w)
        hits = []
        for r in REPOS:
            if r[0] == "acme-corp":
                continue
            text = " ".join([r[0], r[1], r[3] or "", " ".join(r[4])]).lower()
            if all(w.lower() in text for w in words) and \
                    ("language" not in quals or (r[2] or "").lower() == quals["language"].lower()) and \
                    ("user" not in quals or r[0].lower() == quals["user"].lower()) and \
                    ("org" not in quals or r[0].lower() == quals["org"].lower()) and \
                    ("topic" not in quals or quals["topic"] in r[4]):
                hits.append(repo_json(r))
        hits.sort(key=lambda x: -x["stargazers_count"])
        per = self.per_page()
        return {"total_count": len(hits), "incomplete_results": False,
                "items": [{**x, "score": 1.0} for x in hits[:per]]}

    def search_users(self):
        q = self.q("search/search#search-users")
        words = [w.lower() for w in q.split() if ":" not in w]
        typ = dict(w.split(":", 1) for w in q.split() if ":" in w).get("type")
        hits = []
        for login, kind in OWNERS.items():
            if typ and typ.lower() != kind.lower() and not (typ == "org" and kind == "Organization"):
                continue
            name = (USERS.get(login) or ORGS.get(login))[0] or ""
            if all(w in login.lower() or w in name.lower() for w in words):
                hits.append({**simple_user(login), "score": 1.0})
        hits.sort(key=lambda x: x["login"].lower())
        return {"total_count": len(hits), "incomplete_results": False, "items": hits[:self.per_page()]}

    def rate_limit(self):
        key = self.principal or self.headers.get("X-Real-IP", self.client_address[0])
        authed = self.principal is not None

        def res(kind, limit):
            used = USED.get((kind, key), 0)
            return {"limit": limit, "used": used, "remaining": max(0, limit - used), "reset": RATE_RESET}

        core = res("core", 5000 if authed else 60)
        return {"resources": {"core": core, "search": res("search", 30 if authed else 10),
                              "graphql": res("graphql", 5000 if authed else 0)}, "rate": core}


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8091
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"forge_server: listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
