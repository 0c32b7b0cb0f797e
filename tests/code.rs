//! Source-code route introspection, end to end (issue 19): `shadowtap code scan` over real
//! open-source applications (one per framework, under `tests/fixtures/code/`, each with the
//! routes it declares written by hand in `routes.expected.tsv`), over small hand-written trees
//! that use every nesting and authentication form, and over hostile input.

use shadowtap::code::{self, DeclaredRoute, Framework, ScanLimits};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/code_mirror.rs"]
mod code_mirror;

/// The expected routes of a fixture: (method, path) → authentication (`None`: not given).
fn expected(dir: &Path) -> BTreeMap<(String, String), Option<BTreeSet<String>>> {
    let text = std::fs::read_to_string(dir.join("routes.expected.tsv")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 2, "bad line {line:?}");
        let auth = cols.get(2).map(|a| {
            a.split(',')
                .filter(|x| !x.is_empty() && *x != "-")
                .map(str::to_string)
                .collect()
        });
        out.insert((cols[0].to_string(), cols[1].to_string()), auth);
    }
    out
}

/// Scans a fixture and measures it against its expected routes: route recall and precision
/// (method and path template), and the agreement of authentication on the routes found;
/// `None` when the fixture's upstream files are not on this machine (see `code_mirror`).
fn measure(name: &str, framework: Framework) -> Option<(f64, f64, f64)> {
    let f = code_mirror::fixture(name);
    let Some(tree) = code_mirror::materialise(&f) else {
        eprintln!("{name}: skipped, no mirror of {} at {}", f.repo, f.commit);
        return None;
    };
    let want = expected(&f.dir);
    let dir = tree.path().to_path_buf();
    let report = code::scan(std::slice::from_ref(&dir), ScanLimits::default());
    assert_eq!(report.parse.failed, 0, "{name}");
    for r in &report.routes {
        assert_eq!(r.framework, framework, "{name}: {r:?}");
        assert!(r.line > 0 && dir.join(&r.file).is_file(), "{name}: {r:?}");
    }
    let mut got: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in &report.routes {
        got.entry((r.method.clone(), r.path.clone()))
            .or_default()
            .extend(r.auth.iter().cloned());
    }
    let hits = got.keys().filter(|k| want.contains_key(*k)).count();
    let recall = hits as f64 / want.len() as f64;
    let precision = if got.is_empty() {
        0.0
    } else {
        hits as f64 / got.len() as f64
    };
    let (mut agree, mut judged) = (0, 0);
    for (k, auth) in &want {
        if let (Some(a), Some(g)) = (auth, got.get(k)) {
            judged += 1;
            if a == g {
                agree += 1;
            } else {
                println!("{name}: auth of {} {}: want {a:?}, got {g:?}", k.0, k.1);
            }
        }
    }
    let auth = if judged == 0 {
        1.0
    } else {
        agree as f64 / judged as f64
    };
    for k in want.keys().filter(|k| !got.contains_key(*k)) {
        println!("{name}: missing {} {}", k.0, k.1);
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        println!("{name}: unexpected {} {}", k.0, k.1);
    }
    println!(
        "{name} ({framework}): recall {recall:.3}, precision {precision:.3} ({hits} of {} expected, {} found); auth agreement {auth:.3}",
        want.len(),
        got.len()
    );
    Some((recall, precision, auth))
}

fn assert_fixture(name: &str, framework: Framework, min_auth: f64) {
    let Some((recall, precision, auth)) = measure(name, framework) else {
        return;
    };
    assert!(recall >= 0.95, "{name}: recall {recall:.3}");
    assert!(precision >= 0.95, "{name}: precision {precision:.3}");
    assert!(auth >= min_auth, "{name}: auth agreement {auth:.3}");
}

#[test]
fn express_realworld() {
    assert_fixture("express-realworld", Framework::Express, 0.95);
}

#[test]
fn fastify_realworld() {
    assert_fixture("fastify-realworld", Framework::Fastify, 0.95);
}

#[test]
fn koa_realworld() {
    assert_fixture("koa-realworld", Framework::Koa, 0.95);
}

#[test]
fn fastapi_realworld() {
    assert_fixture("fastapi-realworld", Framework::FastApi, 0.95);
}

#[test]
fn flask_realworld() {
    assert_fixture("flask-realworld", Framework::Flask, 0.95);
}

#[test]
fn django_styleguide() {
    assert_fixture("django-styleguide", Framework::Django, 0.95);
}

#[test]
fn the_binary_prints_every_format() {
    let app = tree(&[
        (
            "app.js",
            b"const express = require('express');\nconst users = require('./routes/users');\n\
              const app = express();\napp.get('/health', (req, res) => res.send('ok'));\n\
              app.use('/api/users', users);\napp.listen(3000);\n",
        ),
        (
            "routes/users.js",
            b"const router = require('express').Router();\nrouter.get('/', list);\n\
              router.get('/:id', requireAuth, show);\nrouter.delete('/:id', requireAuth, remove);\n\
              module.exports = router;\n",
        ),
    ]);
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_shadowtap"))
            .args(["code", "scan"])
            .arg(app.path())
            .args(["--format", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (tsv, summary) = run("tsv");
    assert!(summary.starts_with("4 routes in 2 files"), "{summary}");
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next(),
        Some("method\tpath\tframework\tfile\tline\thandler\tauth")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 4, "{tsv}");
    assert!(
        rows.contains(&vec![
            "DELETE",
            "/api/users/{id}",
            "express",
            "routes/users.js",
            "4",
            "remove",
            "requireAuth",
        ]),
        "{tsv}"
    );
    let (json, _) = run("json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["routes"].as_array().unwrap().len(), 4);
    assert_eq!(v["walk"]["files"], 2);
    let (table, _) = run("table");
    assert!(table.starts_with("method"), "{table}");
    assert_eq!(table.lines().count(), 5);
    let bad = Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .args(["code", "scan", "/nonexistent/dir"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// A temporary tree of files.
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, body) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir
}

fn scan(dir: &Path) -> Vec<DeclaredRoute> {
    code::scan(&[dir.to_path_buf()], ScanLimits::default()).routes
}

/// (method, path, auth joined by `,`) of every route.
fn summary(routes: &[DeclaredRoute]) -> BTreeSet<(String, String, String)> {
    routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.auth.join(",")))
        .collect()
}

fn set(list: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    list.iter()
        .map(|(m, p, a)| (m.to_string(), p.to_string(), a.to_string()))
        .collect()
}

#[test]
fn express_nesting_and_auth_forms() {
    let dir = tree(&[
        (
            "src/app.js",
            b"const express = require('express');
const passport = require('passport');
const { requireAuth } = require('./middleware/auth');
const api = require('./routes');
const app = express();
app.use(express.json());
app.use('/api', api);
require('./routes/health')(app);
app.post('/login', passport.authenticate('local', { failureRedirect: '/' }), loggedIn);
app.use('/admin', requireAuth);
app.get('/admin/stats', stats);
app.get('/public', pub);
",
        ),
        (
            "src/routes/index.js",
            b"const router = require('express').Router();
const users = require('./users');
const PREFIX = '/v2';
router.use(PREFIX + '/users', users);
module.exports = router;
",
        ),
        (
            "src/routes/users.ts",
            b"import { Router } from 'express';
import * as ctrl from '../controllers/users';
const router = Router({ mergeParams: true });
router.get('/', ctrl.list);
router.use(requireAuth);
router.route('/:id(\\\\d+)').get(ctrl.show).put(ctrl.update).delete(ctrl.remove);
router.all('/:id/*', ctrl.fallback);
router[verb]('/computed', ctrl.x);
export default router;
",
        ),
        (
            "src/routes/health.js",
            b"module.exports = (app) => { app.get('/healthz', (req, res) => res.send('ok')); };\n",
        ),
        (
            "src/middleware/auth.js",
            b"exports.requireAuth = (req, res, next) => next();\n",
        ),
        (
            "web/client.js",
            b"fetch('/api/v2/users'); axios.post('/api/login', body);\n",
        ),
    ]);
    let got = scan(dir.path());
    assert_eq!(
        summary(&got),
        set(&[
            ("POST", "/login", "passport.authenticate"),
            ("GET", "/admin/stats", "requireAuth"),
            ("GET", "/public", ""),
            ("GET", "/healthz", ""),
            ("GET", "/api/v2/users", ""),
            ("GET", "/api/v2/users/{id}", "requireAuth"),
            ("PUT", "/api/v2/users/{id}", "requireAuth"),
            ("DELETE", "/api/v2/users/{id}", "requireAuth"),
            ("*", "/api/v2/users/{id}/{wildcard}", "requireAuth"),
        ])
    );
    let show = got
        .iter()
        .find(|r| r.method == "GET" && r.path == "/api/v2/users/{id}")
        .unwrap();
    assert_eq!(show.handler.as_deref(), Some("ctrl.show"));
    assert_eq!(show.file, PathBuf::from("src/routes/users.ts"));
    assert_eq!(show.line, 6);
}

#[test]
fn fastify_nesting_and_auth_forms() {
    let dir = tree(&[
        (
            "server.mjs",
            b"import Fastify from 'fastify';
import routes from './routes/index.mjs';
const app = Fastify({ logger: true });
app.register(routes, { prefix: '/api' });
app.get('/health', async () => ({ ok: true }));
",
        ),
        (
            "routes/index.mjs",
            b"import users from './users.mjs';
export default async function (fastify, opts) {
  fastify.register(users, { prefix: '/users' });
  fastify.register(async function admin(instance) {
    instance.addHook('preHandler', instance.auth([instance.verifyJWT]));
    instance.delete('/cache', clearCache);
  }, { prefix: '/admin' });
}
",
        ),
        (
            "routes/users.mjs",
            b"import fp from 'fastify-plugin';
async function users(fastify) {
  fastify.get('/', { onRequest: [fastify.authenticate] }, listUsers);
  fastify.route({ method: ['PUT', 'PATCH'], url: '/:id', preValidation: fastify.authenticate, handler: updateUser });
  fastify.route({ method: 'GET', url: `/${'me'}`, handler: me });
}
export default users;
",
        ),
    ]);
    assert_eq!(
        summary(&scan(dir.path())),
        set(&[
            ("GET", "/health", ""),
            ("GET", "/api/users", "fastify.authenticate"),
            ("PUT", "/api/users/{id}", "fastify.authenticate"),
            ("PATCH", "/api/users/{id}", "fastify.authenticate"),
            ("GET", "/api/users/me", ""),
            ("DELETE", "/api/admin/cache", "instance.auth"),
        ])
    );
}

#[test]
fn koa_nesting_and_auth_forms() {
    let dir = tree(&[
        (
            "app.ts",
            b"import Koa from 'koa';
import Router from '@koa/router';
import jwt from 'koa-jwt';
import { v1 } from './v1';
const app = new Koa();
const root = new Router();
root.get('/', index);
root.use('/api', v1.routes(), v1.allowedMethods());
app.use(jwt({ secret: 's', passthrough: true }));
app.use(root.routes());
",
        ),
        (
            "v1.ts",
            b"import Router from '@koa/router';
import { items } from './items';
export const v1 = new Router({ prefix: '/v1' });
v1.use('/items', items.routes());
v1.get('status', '/status', status);
",
        ),
        (
            "items.ts",
            b"import Router from '@koa/router';
export const items = new Router();
items.get('/', list);
items.use(requireLogin);
items.post('/', create);
items.del('/:id', remove);
",
        ),
    ]);
    assert_eq!(
        summary(&scan(dir.path())),
        set(&[
            ("GET", "/", ""),
            ("GET", "/api/v1/status", ""),
            ("GET", "/api/v1/items", ""),
            ("POST", "/api/v1/items", "requireLogin"),
            ("DELETE", "/api/v1/items/{id}", "requireLogin"),
        ])
    );
}

#[test]
fn fastapi_nesting_and_auth_forms() {
    let dir = tree(&[
        (
            "app/main.py",
            b"from fastapi import FastAPI, Depends
from app.api import api_router
from app.deps import get_current_user

app = FastAPI()
API = '/api'
app.include_router(api_router, prefix=API + '/v1')

@app.get('/health')
def health():
    return {}
",
        ),
        (
            "app/api/__init__.py",
            b"from fastapi import APIRouter, Depends
from . import items, admin
from .users import router as users_router

api_router = APIRouter()
api_router.include_router(items.router, prefix='/items', tags=['items'])
api_router.include_router(users_router)
api_router.include_router(admin.router, dependencies=[Depends(require_admin)])
",
        ),
        (
            "app/api/items.py",
            b"from typing import Annotated
from fastapi import APIRouter, Depends, Security

router = APIRouter()

@router.get('/')
async def list_items(user=Depends(get_current_user_optional)):
    ...

@router.get('/{item_id:int}')
async def get_item(item_id: int, user: Annotated[User, Depends(get_current_user)]):
    ...

@router.api_route('/{item_id}', methods=['PUT', 'PATCH'])
async def update_item(item_id: int, user=Security(get_user, scopes=['items'])):
    ...

router.add_api_route('/bulk', bulk_create, methods=['POST'], dependencies=[Depends(verify_token)])
",
        ),
        (
            "app/api/users.py",
            b"import fastapi
router = fastapi.APIRouter(prefix='/users', dependencies=[fastapi.Depends(get_current_active_user)])

@router.post('')
def create_user():
    ...
",
        ),
        (
            "app/api/admin.py",
            b"from fastapi import APIRouter
router = APIRouter(prefix='/admin')

@router.delete('/cache', dependencies=[Depends(get_db)])
def clear():
    ...
",
        ),
    ]);
    assert_eq!(
        summary(&scan(dir.path())),
        set(&[
            ("GET", "/health", ""),
            ("GET", "/api/v1/items", ""),
            (
                "GET",
                "/api/v1/items/{item_id}",
                "Depends(get_current_user)"
            ),
            (
                "PUT",
                "/api/v1/items/{item_id}",
                "Security(get_user,scopes=['items'])"
            ),
            (
                "PATCH",
                "/api/v1/items/{item_id}",
                "Security(get_user,scopes=['items'])"
            ),
            ("POST", "/api/v1/items/bulk", "Depends(verify_token)"),
            (
                "POST",
                "/api/v1/users",
                "fastapi.Depends(get_current_active_user)"
            ),
            ("DELETE", "/api/v1/admin/cache", "Depends(require_admin)"),
        ])
    );
}

#[test]
fn flask_nesting_and_auth_forms() {
    let dir = tree(&[
        (
            "shop/__init__.py",
            b"from flask import Flask
from flask_login import login_required
from .views import catalog, account
from .api import api_bp

app = Flask(__name__)
app.register_blueprint(catalog)
app.register_blueprint(account, url_prefix='/me')
app.register_blueprint(api_bp)

@app.route('/')
def index():
    return 'hi'

@app.route('/dashboard', methods=['GET', 'POST'])
@login_required
def dashboard():
    return 'd'
",
        ),
        (
            "shop/views.py",
            b"from flask import Blueprint
from flask.views import MethodView
from flask_jwt_extended import jwt_required

catalog = Blueprint('catalog', __name__, url_prefix='/catalog')
account = Blueprint('account', __name__, url_prefix='/account')

@catalog.get('/<int:item_id>')
def item(item_id):
    ...

@account.route('/orders/<path:rest>')
@jwt_required()
def orders(rest):
    ...

class Cart(MethodView):
    def get(self):
        ...
    def post(self):
        ...

catalog.add_url_rule('/cart', view_func=Cart.as_view('cart'))
",
        ),
        (
            "shop/api.py",
            b"from flask import Blueprint
api_bp = Blueprint('api', __name__, url_prefix='/api')
v1 = Blueprint('v1', __name__)
api_bp.register_blueprint(v1, url_prefix='/v1')

@v1.delete('/items/<uuid:item_id>')
def delete_item(item_id):
    ...
",
        ),
    ]);
    assert_eq!(
        summary(&scan(dir.path())),
        set(&[
            ("GET", "/", ""),
            ("GET", "/dashboard", "login_required"),
            ("POST", "/dashboard", "login_required"),
            ("GET", "/catalog/{item_id}", ""),
            ("GET", "/catalog/cart", ""),
            ("POST", "/catalog/cart", ""),
            ("GET", "/me/orders/{rest}", "jwt_required"),
            ("DELETE", "/api/v1/items/{item_id}", ""),
        ])
    );
}

#[test]
fn django_nesting_and_auth_forms() {
    let dir = tree(&[
        ("project/settings.py", b"ROOT_URLCONF = 'project.urls'\n"),
        (
            "project/urls.py",
            b"from django.contrib import admin
from django.urls import include, path, re_path
from django.contrib.auth.decorators import login_required
from blog import views as blog_views

v2_patterns = [
    path('ping/', blog_views.ping),
]

urlpatterns = [
    path('admin/', admin.site.urls),
    path('blog/', include('blog.urls')),
    path('api/', include(('api.urls', 'api'), namespace='api')),
    path('v2/', include(v2_patterns)),
    re_path(r'^archive/(?P<year>[0-9]{4})/$', login_required(blog_views.ArchiveView.as_view())),
]
",
        ),
        (
            "blog/urls.py",
            b"from django.urls import path
from . import views

app_name = 'blog'
urlpatterns = [
    path('', views.PostList.as_view(), name='list'),
    path('<slug:slug>/', views.post_detail, name='detail'),
    path('<slug:slug>/edit/', views.PostEdit.as_view()),
]
",
        ),
        (
            "blog/views.py",
            b"from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.decorators.http import require_http_methods, require_GET
from django.views import generic

class PostList(generic.ListView):
    pass

@require_http_methods(['GET', 'POST'])
def post_detail(request, slug):
    ...

class PostEdit(LoginRequiredMixin, generic.View):
    def get(self, request, slug): ...
    def post(self, request, slug): ...

class ArchiveView(generic.TemplateView):
    pass

@require_GET
def ping(request): ...
",
        ),
        (
            "api/urls.py",
            b"from django.urls import path, include
from rest_framework.routers import DefaultRouter, SimpleRouter
from .views import UserViewSet, TagViewSet, me

router = DefaultRouter()
router.register(r'users', UserViewSet, basename='user')
tags = SimpleRouter(trailing_slash=False)
tags.register('tags', TagViewSet)

urlpatterns = [
    path('', include(router.urls)),
    path('me/', me),
]
urlpatterns += tags.urls
",
        ),
        (
            "api/views.py",
            b"from rest_framework import viewsets, mixins
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import IsAuthenticated, AllowAny

class UserViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated]
    lookup_field = 'username'

    @action(detail=True, methods=['post'], url_path='set-password')
    def set_password(self, request, username=None): ...

    @action(detail=False)
    def recent(self, request): ...

class TagViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = (AllowAny,)

@api_view(['GET'])
@permission_classes([IsAuthenticated])
def me(request): ...
",
        ),
    ]);
    let a = "IsAuthenticated";
    assert_eq!(
        summary(&scan(dir.path())),
        set(&[
            ("GET", "/blog/", ""),
            ("GET", "/blog/{slug}/", ""),
            ("POST", "/blog/{slug}/", ""),
            ("GET", "/blog/{slug}/edit/", "LoginRequiredMixin"),
            ("POST", "/blog/{slug}/edit/", "LoginRequiredMixin"),
            ("GET", "/v2/ping/", ""),
            ("GET", "/archive/{year}/", "login_required"),
            ("GET", "/api/", ""),
            ("GET", "/api/users/", a),
            ("POST", "/api/users/", a),
            ("GET", "/api/users/{username}/", a),
            ("PUT", "/api/users/{username}/", a),
            ("PATCH", "/api/users/{username}/", a),
            ("DELETE", "/api/users/{username}/", a),
            ("POST", "/api/users/{username}/set-password/", a),
            ("GET", "/api/users/recent/", a),
            ("GET", "/api/me/", a),
            ("GET", "/api/tags", ""),
        ])
    );
}

#[test]
fn hostile_trees_end_in_bounded_time_without_panic() {
    let mut big =
        String::from("const express = require('express');\nconst r = express.Router();\n");
    let mut i = 0;
    while big.len() < (2 << 20) - 64 {
        big.push_str(&format!("r.get('/r{i}/:id', h{i});\n"));
        i += 1;
    }
    let mut garbage = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    let deep_js = format!(
        "const express = require('express'); const app = express(); app.get({}'/x'{}, h);\n{}{}",
        "(".repeat(50_000),
        ")".repeat(50_000),
        "f(".repeat(30_000),
        ")".repeat(30_000)
    );
    let deep_chain = format!(
        "const r = require('express').Router(){};\n",
        ".use(a)".repeat(40_000)
    );
    let deep_py = format!(
        "from fastapi import APIRouter\nrouter = APIRouter()\nx = {}1{}\n@router.get('/ok')\ndef ok(): ...\n{}\n",
        "[".repeat(40_000),
        "]".repeat(40_000),
        "def f():\n".repeat(2_000)
    );
    let concat_py = format!(
        "from django.urls import path\nurlpatterns = [path('a' {}, v)]\n",
        "+ 'b' ".repeat(50_000)
    );
    let dir = tree(&[
        ("big.js", big.as_bytes()),
        ("garbage.js", &garbage),
        ("garbage.ts", &garbage),
        ("garbage.tsx", &garbage),
        ("garbage.py", &garbage),
        ("invalid_utf8.py", b"from flask import Flask\napp = Flask(__name__)\n@app.route('/\xff\xfe')\ndef x(): ...\n@app.route('/fine')\ndef y(): ...\n"),
        ("invalid_utf8.js", b"const app = require('express')(); app.get('/\xc3\x28', h); app.get('/fine', h);\n"),
        ("deep.js", deep_js.as_bytes()),
        ("chain.js", deep_chain.as_bytes()),
        ("deep.py", deep_py.as_bytes()),
        ("concat.py", concat_py.as_bytes()),
        ("unterminated.ts", b"import express from 'express'; const app = express(); app.get('/a', h); app.get(`/b${"),
        ("cycle_a.js", b"const b = require('./cycle_b'); module.exports = b;\n"),
        ("cycle_b.js", b"const a = require('./cycle_a'); module.exports = a; const app = require('express')(); app.use(a);\n"),
    ]);
    let start = Instant::now();
    let report = code::scan(&[dir.path().to_path_buf()], ScanLimits::default());
    let took = start.elapsed();
    println!(
        "hostile tree: {took:?}, {} routes, {:?}, {:?}",
        report.routes.len(),
        report.parse,
        report.walk
    );
    assert!(took < Duration::from_secs(120), "{took:?}");
    assert_eq!(report.walk.files, 14);
    assert!(report.parse.with_errors >= 4, "{:?}", report.parse);
    let paths: BTreeSet<&str> = report.routes.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains("/r0/{id}"));
    assert!(paths.contains(&*format!("/r{}/{{id}}", i - 1)));
    assert!(paths.contains("/fine"));
    assert!(paths.contains("/ok"));
    assert!(paths.contains("/a"));
    // A file over the size cap is skipped and counted, not read.
    let limits = ScanLimits {
        max_file_bytes: 1 << 20,
        ..ScanLimits::default()
    };
    let small = code::scan(&[dir.path().to_path_buf()], limits);
    assert_eq!(small.walk.too_large, 1);
}

#[test]
fn mounts_that_fan_out_and_lists_that_double_stay_bounded() {
    // Each router mounts the next twice: 2^40 paths down to the one route.
    let mut js = String::from("const express = require('express');\nconst app = express();\n");
    for i in 0..=40 {
        js.push_str(&format!("const r{i} = express.Router();\n"));
    }
    js.push_str("app.use(r0);\n");
    for i in 0..40 {
        js.push_str(&format!(
            "r{i}.use('/a', r{n}); r{i}.use('/b', r{n});\n",
            n = i + 1
        ));
    }
    js.push_str("r40.get('/leaf', h);\n");
    // The same with Django includes, and a URL list that doubles itself 80 times.
    let mut py = String::from("from django.urls import path, include\n");
    py.push_str("l40 = [path('leaf/', leaf)]\n");
    for i in (0..40).rev() {
        py.push_str(&format!(
            "l{i} = [path('a/', include(l{n})), path('b/', include(l{n}))]\n",
            n = i + 1
        ));
    }
    py.push_str("urlpatterns = [path('', include(l0)), path('x/', view)]\n");
    py.push_str(&"urlpatterns += urlpatterns\n".repeat(80));
    let dir = tree(&[("fan.js", js.as_bytes()), ("urls.py", py.as_bytes())]);
    let start = Instant::now();
    let report = code::scan(&[dir.path().to_path_buf()], ScanLimits::default());
    let took = start.elapsed();
    println!("fan-out: {took:?}, {} routes", report.routes.len());
    assert!(took < Duration::from_secs(60), "{took:?}");
    // Mounts deeper than the cap are not followed (the leaves are 41 deep); the rest is found.
    assert!(
        report.routes.iter().any(|r| r.path == "/x/"),
        "{:?}",
        report.routes
    );
    assert!(report.routes.iter().all(|r| !r.path.ends_with("/leaf/")));
}
