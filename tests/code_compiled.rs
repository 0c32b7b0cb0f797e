//! Route introspection of compiled and server-side languages (issue 19): Spring (Java), Go
//! (net/http, gin, chi, echo), Rails and ASP.NET Core.
//!
//! Three kinds of proof:
//! - real applications (tests/fixtures/code/<dir>/): each scanner's routes against the
//!   routes written by hand from the upstream code, recall and precision at least 0.95. The
//!   upstream files are read, at the commit each SOURCE.md names, from a local mirror
//!   (`SHADOWTAP_CODE_MIRROR`, default `/work/.mirror`); a fixture whose mirror is absent is
//!   reported and skipped;
//! - small hand-written trees, one per framework, with every nesting and auth form;
//! - hostile input: garbage, invalid UTF-8, deep nesting and a 2 MB file, no panic and
//!   bounded time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shadowtap::code::{self, DeclaredRoute, Framework, ScanLimits, SourceFile, WalkStats};

#[path = "support/code_mirror.rs"]
mod code_mirror;
use code_mirror::{fixtures, materialise};

/// A language's scanner: its extensions and its entry point.
struct Lang {
    name: &'static str,
    extensions: &'static [&'static str],
    scan: fn(&[SourceFile]) -> Vec<DeclaredRoute>,
}

const LANGS: &[Lang] = &[
    Lang {
        name: "java",
        extensions: code::java::EXTENSIONS,
        scan: code::java::scan,
    },
    Lang {
        name: "kotlin",
        extensions: code::kotlin::EXTENSIONS,
        scan: code::kotlin::scan,
    },
    Lang {
        name: "go",
        extensions: code::go::EXTENSIONS,
        scan: code::go::scan,
    },
    Lang {
        name: "ruby",
        extensions: code::ruby::EXTENSIONS,
        scan: code::ruby::scan,
    },
    Lang {
        name: "csharp",
        extensions: code::csharp::EXTENSIONS,
        scan: code::csharp::scan,
    },
];

fn lang(name: &str) -> &'static Lang {
    LANGS
        .iter()
        .find(|l| l.name == name)
        .expect("known language")
}

/// Writes `files` (relative path, content) under a fresh directory and scans it the way
/// `shadowtap code scan` would: `collect_files`, then the language's scanner.
fn scan_tree(lang: &Lang, files: &[(&str, &[u8])]) -> Vec<DeclaredRoute> {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    scan_dir(lang, dir.path())
}

fn scan_dir(lang: &Lang, dir: &Path) -> Vec<DeclaredRoute> {
    let mut stats = WalkStats::default();
    let files = code::collect_files(dir, lang.extensions, ScanLimits::default(), &mut stats);
    (lang.scan)(&files)
}

fn pairs(routes: &[DeclaredRoute]) -> Vec<String> {
    let mut v: Vec<String> = routes
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    v.sort();
    v
}

fn find<'a>(routes: &'a [DeclaredRoute], method: &str, path: &str) -> &'a DeclaredRoute {
    routes
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no {method} {path} in {:?}", pairs(routes)))
}

// ---------------------------------------------------------------------------------------
// Real applications.

/// Recall and precision of `found` against `expected`, both multisets of `METHOD path`.
fn score(expected: &[String], found: &[String]) -> (f64, f64, Vec<String>, Vec<String>) {
    let mut want: BTreeMap<&str, usize> = BTreeMap::new();
    for e in expected {
        *want.entry(e).or_default() += 1;
    }
    let mut extra = Vec::new();
    let mut hits = 0usize;
    for f in found {
        match want.get_mut(f.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                hits += 1;
            }
            _ => extra.push(f.clone()),
        }
    }
    let missed = want
        .into_iter()
        .flat_map(|(k, n)| std::iter::repeat_n(k.to_string(), n))
        .collect();
    let recall = hits as f64 / expected.len().max(1) as f64;
    let precision = hits as f64 / found.len().max(1) as f64;
    (recall, precision, missed, extra)
}

#[test]
fn real_applications_recall_and_precision() {
    let mut checked = 0;
    // This file's languages; tests/code.rs measures the JavaScript and Python fixtures.
    for f in fixtures()
        .into_iter()
        .filter(|f| LANGS.iter().any(|l| l.name == f.language))
    {
        let name = f.dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(tree) = materialise(&f) else {
            eprintln!("{name}: skipped, no mirror of {} at {}", f.repo, f.commit);
            continue;
        };
        let routes = scan_dir(lang(&f.language), tree.path());
        let found: Vec<String> = routes
            .iter()
            .map(|r| format!("{}\t{}", r.method, r.path))
            .collect();
        let expected: Vec<String> = std::fs::read_to_string(f.dir.join("routes.expected.tsv"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        let (recall, precision, missed, extra) = score(&expected, &found);
        let mut frameworks: Vec<&str> = routes.iter().map(|r| r.framework.name()).collect();
        frameworks.sort();
        frameworks.dedup();
        eprintln!(
            "{name} ({}): {} expected, {} found, recall {recall:.3}, precision {precision:.3}, frameworks {frameworks:?}",
            f.repo,
            expected.len(),
            found.len()
        );
        assert!(
            recall >= 0.95 && precision >= 0.95,
            "{name}: recall {recall:.3} precision {precision:.3}\nmissed: {missed:#?}\nextra: {extra:#?}"
        );
        // Every route names its file and a line inside it.
        for r in &routes {
            let text = std::fs::read_to_string(tree.path().join(&r.file)).unwrap();
            assert!(
                r.line >= 1 && r.line as usize <= text.lines().count(),
                "{r:?}"
            );
        }
        checked += 1;
    }
    eprintln!("{checked} real applications checked");
}

// ---------------------------------------------------------------------------------------
// Hand-written trees, one per framework.

#[test]
fn spring_tree() {
    let controller = br#"
package shop.web;

@RestController
@RequestMapping(Api.BASE + "/owners/{ownerId}")
@PreAuthorize("hasRole('USER')")
public class OwnerController {
    @GetMapping({"/pets", "/animals"})
    public List<Pet> pets() { return null; }

    @RequestMapping(value = "/pets/{petId:[0-9]+}", method = {RequestMethod.PUT, RequestMethod.PATCH})
    @Secured("ROLE_ADMIN")
    public void update() {}

    @RequestMapping(path = "/visits", method = POST)
    public void visit() {}

    @RequestMapping("/any")
    public void any() {}

    @DeleteMapping
    @RolesAllowed("ADMIN")
    public void delete() {}

    public void helper() {}
}
"#;
    let api = br#"
package shop.web;
public final class Api { public static final String BASE = "/api/v1"; }
"#;
    let plain = br#"
@Controller
class Home {
    @GetMapping("/") String index() { return "index"; }
    @PostMapping(path = "/login", consumes = "application/json") String login() { return ""; }
}
"#;
    let routes = scan_tree(
        lang("java"),
        &[
            ("src/main/java/shop/web/OwnerController.java", controller),
            ("src/main/java/shop/web/Api.java", api),
            ("src/main/java/shop/web/Home.java", plain),
        ],
    );
    assert_eq!(
        pairs(&routes),
        [
            "* /api/v1/owners/{ownerId}/any",
            "DELETE /api/v1/owners/{ownerId}",
            "GET /",
            "GET /api/v1/owners/{ownerId}/animals",
            "GET /api/v1/owners/{ownerId}/pets",
            "PATCH /api/v1/owners/{ownerId}/pets/{petId}",
            "POST /api/v1/owners/{ownerId}/visits",
            "POST /login",
            "PUT /api/v1/owners/{ownerId}/pets/{petId}",
        ]
    );
    let put = find(&routes, "PUT", "/api/v1/owners/{ownerId}/pets/{petId}");
    assert_eq!(
        put.auth,
        [
            "@PreAuthorize(\"hasRole('USER')\")",
            "@Secured(\"ROLE_ADMIN\")"
        ]
    );
    assert_eq!(put.handler.as_deref(), Some("OwnerController.update"));
    assert_eq!(put.framework, Framework::Spring);
    assert_eq!(put.line, 13);
    assert!(find(&routes, "GET", "/").auth.is_empty());
}

#[test]
fn spring_kotlin_tree() {
    let controller = br#"
package shop.web

object Paths { const val BASE = "/api/v2" }

@RestController
@RequestMapping("${Paths.BASE}/orders")
@Secured("ROLE_STAFF")
class OrderController(private val orders: Orders) {
    @GetMapping(value = ["", "/all"])
    fun list() = orders.all()

    @RequestMapping(path = ["/{id}"], method = [RequestMethod.DELETE, RequestMethod.POST])
    @PreAuthorize("hasRole('ADMIN')")
    fun remove(@PathVariable id: Long) = orders.remove(id)

    @PatchMapping("/{id}/status")
    fun status(@PathVariable id: Long) {}
}
"#;
    let routes = scan_tree(
        lang("kotlin"),
        &[("src/main/kotlin/shop/web/OrderController.kt", controller)],
    );
    assert_eq!(
        pairs(&routes),
        [
            "DELETE /api/v2/orders/{id}",
            "GET /api/v2/orders",
            "GET /api/v2/orders/all",
            "PATCH /api/v2/orders/{id}/status",
            "POST /api/v2/orders/{id}",
        ]
    );
    let del = find(&routes, "DELETE", "/api/v2/orders/{id}");
    assert_eq!(
        del.auth,
        [
            "@Secured(\"ROLE_STAFF\")",
            "@PreAuthorize(\"hasRole('ADMIN')\")"
        ]
    );
    assert_eq!(del.handler.as_deref(), Some("OrderController.remove"));
    assert_eq!(del.line, 15);
}

#[test]
fn go_gin_tree() {
    let main = br#"package main

import (
	"github.com/gin-gonic/gin"
	"example.com/shop/users"
)

func main() {
	r := gin.Default()
	v1 := r.Group("/api")
	users.Register(v1.Group("/users"))
	v1.Use(users.AuthMiddleware(true))
	users.Private(v1.Group("/user"))
	admin := v1.Group("/admin", RequireAdmin())
	{
		admin.DELETE("/users/:id", deleteUser)
		admin.Any("/debug/*path", debug)
	}
	r.GET("/health", func(c *gin.Context) {})
	r.Handle("PURGE", "/cache", purge)
}
"#;
    let users = br#"package users

import "github.com/gin-gonic/gin"

func Register(router *gin.RouterGroup) {
	router.POST("/", Create)
	router.POST("/login", Login)
}

func Private(router *gin.RouterGroup) {
	router.GET("/", Get)
	router.PUT("/", Update)
}
"#;
    let routes = scan_tree(
        lang("go"),
        &[("main.go", main), ("users/routers.go", users)],
    );
    assert_eq!(
        pairs(&routes),
        [
            "* /api/admin/debug/{path}",
            "DELETE /api/admin/users/{id}",
            "GET /api/user",
            "GET /health",
            "POST /api/users",
            "POST /api/users/login",
            "PURGE /cache",
            "PUT /api/user",
        ]
    );
    let del = find(&routes, "DELETE", "/api/admin/users/{id}");
    assert_eq!(del.auth, ["users.AuthMiddleware(true)", "RequireAdmin()"]);
    assert_eq!(del.framework, Framework::Gin);
    assert_eq!(del.handler.as_deref(), Some("deleteUser"));
    assert_eq!(del.line, 16);
    let login = find(&routes, "POST", "/api/users/login");
    assert!(login.auth.is_empty());
    assert_eq!(login.file, PathBuf::from("users/routers.go"));
}

#[test]
fn go_chi_tree() {
    let main = br#"package main

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/jwtauth/v5"
)

func main() {
	r := chi.NewRouter()
	r.Get("/", index)
	r.Route("/articles", func(r chi.Router) {
		r.With(paginate).Get("/", list)
		r.Route("/{articleID:[0-9]+}", func(r chi.Router) {
			r.Get("/", get)
			r.Method("PATCH", "/", patch)
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(jwtauth.Authenticator(tokenAuth))
		r.Post("/me", me)
	})
	api := chi.NewRouter()
	api.Get("/status", status)
	r.Mount("/api", api)
	r.Mount("/admin", adminRouter())
	r.Mount("/users", usersResource{}.Routes())
	http.ListenAndServe(":3333", r)
}

func adminRouter() http.Handler {
	r := chi.NewRouter()
	r.Use(AdminOnly)
	r.Get("/accounts", accounts)
	return r
}
"#;
    let users = br#"package main

import "github.com/go-chi/chi/v5"

type usersResource struct{}

func (rs usersResource) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", rs.List)
	r.Delete("/{id}", rs.Delete)
	return r
}
"#;
    let routes = scan_tree(lang("go"), &[("main.go", main), ("users.go", users)]);
    assert_eq!(
        pairs(&routes),
        [
            "DELETE /users/{id}",
            "GET /",
            "GET /admin/accounts",
            "GET /api/status",
            "GET /articles",
            "GET /articles/{articleID}",
            "GET /users",
            "PATCH /articles/{articleID}",
            "POST /me",
        ]
    );
    assert_eq!(
        find(&routes, "POST", "/me").auth,
        ["jwtauth.Authenticator(tokenAuth)"]
    );
    assert!(find(&routes, "GET", "/articles").auth.is_empty());
    assert_eq!(
        find(&routes, "GET", "/users").handler.as_deref(),
        Some("rs.List")
    );
    assert!(routes.iter().all(|r| r.framework == Framework::Chi));
}

#[test]
fn go_echo_and_net_http_trees() {
    let main = br#"package main

import (
	"github.com/labstack/echo/v4"
	"example.com/app/handler"
)

func main() {
	e := echo.New()
	v1 := e.Group("/api")
	h := handler.New()
	h.Register(v1)
	e.GET("/", home)
}
"#;
    let routes_go = br#"package handler

import "github.com/labstack/echo/v4"

func (h *Handler) Register(v1 *echo.Group) {
	jwt := middleware.JWT(secret)
	users := v1.Group("/users")
	users.POST("", h.SignUp)
	user := v1.Group("/user", jwt)
	user.GET("", h.Current)
	user.PUT("/:id", h.Update, requireOwner)
	user.Match([]string{"GET", "HEAD"}, "/avatar", h.Avatar)
}
"#;
    let routes = scan_tree(
        lang("go"),
        &[("main.go", main), ("handler/routes.go", routes_go)],
    );
    assert_eq!(
        pairs(&routes),
        [
            "GET /",
            "GET /api/user",
            "GET /api/user/avatar",
            "HEAD /api/user/avatar",
            "POST /api/users",
            "PUT /api/user/{id}",
        ]
    );
    assert_eq!(find(&routes, "GET", "/api/user").auth, ["jwt"]);
    assert_eq!(
        find(&routes, "PUT", "/api/user/{id}").auth,
        ["jwt", "requireOwner"]
    );
    assert!(routes.iter().all(|r| r.framework == Framework::Echo));

    let std = br#"package main

import "net/http"

const v = "/v1"

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", getItem)
	mux.HandleFunc("POST "+v+"/items", createItem)
	mux.HandleFunc("GET example.com/files/{path...}", files)
	mux.HandleFunc("GET /{$}", root)
	api := http.NewServeMux()
	api.HandleFunc("/users/", users)
	mux.Handle("/api/", http.StripPrefix("/api", api))
	http.HandleFunc("/healthz", health)
	http.Handle("/admin", requireAuth(admin))
	http.ListenAndServe(":8080", mux)
}
"#;
    let routes = scan_tree(lang("go"), &[("cmd/server/main.go", std)]);
    assert_eq!(
        pairs(&routes),
        [
            "* /admin",
            "* /api/users/",
            "* /healthz",
            "GET /",
            "GET /files/{path}",
            "GET /items/{id}",
            "POST /v1/items",
        ]
    );
    assert_eq!(find(&routes, "*", "/admin").auth, ["requireAuth"]);
}

#[test]
fn rails_tree() {
    let routes_rb = br#"
Rails.application.routes.draw do
  root "pages#home"
  scope :api, defaults: { format: :json } do
    resource :user, only: [:show, :update]
    resources :articles, param: :slug, except: %i[edit new] do
      resource :favorite, only: [:create, :destroy]
      resources :comments, only: [:create, :index, :destroy]
      get :feed, on: :collection
      member do
        post :publish
      end
      collection do
        get "search"
      end
    end
  end
  namespace :admin do
    resources :users, only: :index
    get "stats" => "dashboard#stats"
  end
  scope "(:locale)", module: "public" do
    get "about", to: "pages#about"
  end
  match "hook", to: "hooks#receive", via: [:post, :put]
  mount ActionCable.server => "/cable"
  devise_for :users
  concern :commentable do
    resources :notes
  end
end
"#;
    let not_routes = br#"class User < ApplicationRecord
  has_many :articles
  def resources; get :x; end
end
"#;
    let application = br#"class ApplicationController < ActionController::Base
  before_action :authenticate_user!
  before_action :set_locale
end
"#;
    let articles = br#"class ArticlesController < ApplicationController
  skip_before_action :authenticate_user!, only: %i[index show feed]
  def index; end
end
"#;
    let routes = scan_tree(
        lang("ruby"),
        &[
            ("config/routes.rb", routes_rb),
            ("app/models/user.rb", not_routes),
            ("app/controllers/application_controller.rb", application),
            ("app/controllers/articles_controller.rb", articles),
        ],
    );
    assert_eq!(
        pairs(&routes),
        [
            "* /cable",
            "DELETE /api/articles/{article_slug}/comments/{id}",
            "DELETE /api/articles/{article_slug}/favorite",
            "DELETE /api/articles/{slug}",
            "GET /",
            "GET /about",
            "GET /admin/stats",
            "GET /admin/users",
            "GET /api/articles",
            "GET /api/articles/feed",
            "GET /api/articles/search",
            "GET /api/articles/{article_slug}/comments",
            "GET /api/articles/{slug}",
            "GET /api/user",
            "PATCH /api/articles/{slug}",
            "PATCH /api/user",
            "POST /api/articles",
            "POST /api/articles/{article_slug}/comments",
            "POST /api/articles/{article_slug}/favorite",
            "POST /api/articles/{slug}/publish",
            "POST /hook",
            "PUT /api/articles/{slug}",
            "PUT /api/user",
            "PUT /hook",
        ]
    );
    assert!(find(&routes, "GET", "/api/articles").auth.is_empty());
    assert!(find(&routes, "GET", "/api/articles/feed").auth.is_empty());
    assert_eq!(
        find(&routes, "DELETE", "/api/articles/{slug}").auth,
        ["before_action :authenticate_user!"]
    );
    let publish = find(&routes, "POST", "/api/articles/{slug}/publish");
    assert_eq!(publish.handler.as_deref(), Some("articles#publish"));
    assert_eq!(publish.framework, Framework::Rails);
    assert_eq!(
        find(&routes, "GET", "/admin/users").handler.as_deref(),
        Some("admin/users#index")
    );
    assert_eq!(
        find(&routes, "GET", "/about").handler.as_deref(),
        Some("public/pages#about")
    );
}

#[test]
fn aspnet_tree() {
    let controller = br#"
using Microsoft.AspNetCore.Mvc;
namespace Shop.Controllers;

[ApiController]
[Route("api/[controller]")]
[Authorize(Policy = "Staff")]
public class OrdersController(IMediator mediator) : ControllerBase
{
    private const string Items = "items";

    [HttpGet]
    public IActionResult List() => Ok();

    [HttpGet("{id:int}")]
    [AllowAnonymous]
    public IActionResult Get(int id) => Ok();

    [HttpPost(Items + "/{itemId}")]
    public IActionResult AddItem(int itemId) => Ok();

    [Route("[action]")]
    [HttpPut]
    public IActionResult Rename() => Ok();

    [HttpDelete("~/admin/orders/{id}")]
    public IActionResult Purge(int id) => Ok();

    public IActionResult NotRouted() => Ok();
}
"#;
    let program = br#"
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/", () => "hello");
var todos = app.MapGroup("/todos").RequireAuthorization();
todos.MapGet("/{id}", GetTodo);
todos.MapPost("/", CreateTodo).AllowAnonymous();
app.MapControllers();
app.Run();
"#;
    let routes = scan_tree(
        lang("csharp"),
        &[
            ("src/Shop/Controllers/OrdersController.cs", controller),
            ("src/Shop/Program.cs", program),
        ],
    );
    assert_eq!(
        pairs(&routes),
        [
            "DELETE /admin/orders/{id}",
            "GET /",
            "GET /api/Orders",
            "GET /api/Orders/{id}",
            "GET /todos/{id}",
            "POST /api/Orders/items/{itemId}",
            "POST /todos",
            "PUT /api/Orders/Rename",
        ]
    );
    assert_eq!(
        find(&routes, "GET", "/api/Orders/{id}").auth,
        ["[Authorize(Policy = \"Staff\")]", "[AllowAnonymous]"]
    );
    assert_eq!(
        find(&routes, "GET", "/todos/{id}").auth,
        ["RequireAuthorization()"]
    );
    assert_eq!(
        find(&routes, "POST", "/todos").auth,
        ["RequireAuthorization()", "AllowAnonymous()"]
    );
    assert_eq!(
        find(&routes, "GET", "/api/Orders").handler.as_deref(),
        Some("OrdersController.List")
    );
}

// ---------------------------------------------------------------------------------------
// Hostile input.

/// Deeply nested code, garbage, invalid UTF-8 and a 2 MB file per language: each scan
/// returns (no panic, no stack overflow) within a bound.
#[test]
fn hostile_input_is_survived_in_bounded_time() {
    let depth = 20_000;
    let mut garbage = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        garbage.push((x & 0xff) as u8);
    }
    let invalid_utf8: &[u8] = b"\xff\xfe package main \xc3\x28 func main() { r.GET(\"/\xff\", h) }";
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "go",
            "deep.go",
            format!(
                "package main\nimport \"github.com/gin-gonic/gin\"\nfunc main() {{ r := gin.New(); {} r.GET(\"/x\", h) {} }}",
                "func() {".repeat(depth),
                "}()".repeat(depth)
            )
            .into_bytes(),
        ),
        (
            "go",
            "parens.go",
            format!(
                "package main\nfunc main() {{ r.GET({}\"/x\"{}, h) }}",
                "(".repeat(depth),
                ")".repeat(depth)
            )
            .into_bytes(),
        ),
        (
            "java",
            "Deep.java",
            format!(
                "{} @GetMapping(\"/x\") void a() {{}} {}",
                "@RequestMapping(\"/a\") class A { ".repeat(depth),
                "}".repeat(depth)
            )
            .into_bytes(),
        ),
        (
            "kotlin",
            "Deep.kt",
            format!(
                "{} @GetMapping(\"/x\") fun a() {{}} {}",
                "@RequestMapping(\"/a\") class A { ".repeat(depth),
                "}".repeat(depth)
            )
            .into_bytes(),
        ),
        (
            "ruby",
            "config/routes.rb",
            format!(
                "Rails.application.routes.draw do\n{} get 'x' => 'a#b'\n{}end\n",
                "scope 'a' do\n".repeat(depth),
                "end\n".repeat(depth)
            )
            .into_bytes(),
        ),
        (
            "csharp",
            "Deep.cs",
            format!(
                "{} app.MapGet(\"/x\", H); {}",
                "class A { void M() { ".repeat(depth),
                "} }".repeat(depth)
            )
            .into_bytes(),
        ),
    ];
    for l in LANGS {
        let ext = l.extensions[0];
        let name = if l.name == "ruby" {
            "config/routes.rb".to_string()
        } else {
            format!("x.{ext}")
        };
        // Garbage and invalid UTF-8.
        let t = Instant::now();
        scan_tree(l, &[(&name, &garbage), (&format!("u.{ext}"), invalid_utf8)]);
        assert!(t.elapsed() < Duration::from_secs(20), "{} garbage", l.name);
        // A 2 MB file of routes, just under the walk's size cap.
        let unit: &str = match l.name {
            "go" => "\tr.GET(\"/a/:id\", h)\n\tg := r.Group(\"/g\")\n\tg.POST(\"/b\", h)\n",
            "java" => "  @GetMapping(\"/a/{id}\") void a() {}\n",
            "kotlin" => "  @GetMapping(\"/a/{id}\") fun a() {}\n",
            "ruby" => "  resources :things do\n    get :x\n  end\n",
            _ => "  [HttpGet(\"a/{id}\")] public void A() {}\n",
        };
        let (head, tail) = match l.name {
            "go" => (
                "package main\nimport \"github.com/gin-gonic/gin\"\nfunc main() {\n\tr := gin.New()\n",
                "}\n",
            ),
            "java" | "kotlin" => ("@RestController class C {\n", "}\n"),
            "ruby" => ("Rails.application.routes.draw do\n", "end\n"),
            _ => ("[Route(\"api\")] class C {\n", "}\n"),
        };
        let mut big = String::from(head);
        while big.len() + unit.len() + tail.len() < (2 << 20) - 1 {
            big.push_str(unit);
        }
        big.push_str(tail);
        let t = Instant::now();
        let routes = scan_tree(l, &[(&name, big.as_bytes())]);
        let took = t.elapsed();
        eprintln!(
            "{}: 2 MB file, {} routes in {:.2?}",
            l.name,
            routes.len(),
            took
        );
        assert!(routes.len() > 10_000, "{}: {}", l.name, routes.len());
        assert!(took < Duration::from_secs(60), "{}: {took:?}", l.name);
    }
    for (l, path, text) in &cases {
        let t = Instant::now();
        let routes = scan_tree(lang(l), &[(path, text)]);
        let took = t.elapsed();
        eprintln!(
            "{l} {path}: nested {depth} deep, {} routes in {took:.2?}",
            routes.len()
        );
        assert!(took < Duration::from_secs(60), "{l} {path}: {took:?}");
    }
}
