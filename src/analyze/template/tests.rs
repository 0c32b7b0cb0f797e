use super::*;

fn rules(m: &TemplateMatch) -> Vec<&'static str> {
    m.decisions.iter().map(|d| d.rule).collect()
}

/// Deterministic xorshift for traffic and floods.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Zipf-ish pick: small indices far more often.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'a' + (self.next() % 26) as u8))
            .collect()
    }
}

const OWNERS: &[&str] = &[
    "rust-lang",
    "facebook",
    "torvalds",
    "acme-corp",
    "octo-org",
    "kubernetes-sigs",
    "zed-ind",
    "alice38",
    "Nova-Granite",
    "brave_turing",
    "vercel",
    "jdoe",
    "m-smith",
    "hashicorp",
];
const REPOS: &[&str] = &[
    "rustup",
    "next.js",
    "react-native",
    "linux",
    "my-project-123",
    "cargo",
    "terraform",
    "docs-site",
    "api-gateway",
    "awesome-python",
    "dotfiles",
    "infra-live",
];
const USERS: &[&str] = &[
    "alice38", "octocat", "jdoe", "m-smith", "bob_k", "carol.w", "dave-ops", "erin77", "frank",
    "gwen-sec", "heidi", "ivan-dev", "judy42", "mallory", "niaj", "olivia-r", "peggy", "rupert99",
    "sybil", "trent-qa", "victor_w", "walter",
];

fn settled(l: &mut TemplateLearner, path: &str) -> String {
    l.settle();
    l.resolve(path)
}

#[test]
fn typed_params_immediately() {
    let mut l = TemplateLearner::new();
    let m = l.observe("/api/v1/users/12345/orders/3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10");
    assert_eq!(m.template, "/api/v1/users/{user_id}/orders/{order_id}");
    assert_eq!(
        rules(&m),
        [
            "scaffold",
            "scaffold",
            "literal",
            "typed:integer",
            "literal",
            "typed:uuid"
        ]
    );
    assert!(
        m.decisions
            .iter()
            .all(|d| (0.0..=1.0).contains(&d.confidence))
    );
    assert_eq!(
        l.observe("/files/d41d8cd98f00b204e9800998ecf8427e")
            .template,
        "/files/{file_hash}"
    );
    assert_eq!(
        l.observe("/reports/2024-03-01").template,
        "/reports/{report_date}"
    );
    assert_eq!(
        l.observe("/objects/507f1f77bcf86cd799439011").template,
        "/objects/{object_id}"
    );
}

#[test]
fn root_and_normalisation() {
    let mut l = TemplateLearner::new();
    assert_eq!(l.observe("/").template, "/");
    assert_eq!(l.observe("").template, "/");
    assert_eq!(
        l.observe("/users//42/?x=1#frag").template,
        "/users/{user_id}"
    );
    assert_eq!(l.observe("/users/./42/../43").template, "/users/{user_id}");
    assert_eq!(
        l.observe("http://example.com/users/42?q").template,
        "/users/{user_id}"
    );
    assert_eq!(l.observe("HTTPS://example.com").template, "/");
    assert_eq!(
        l.observe("/a%20b/{x}/caf%C3%A9/%7Bid%7D").template,
        "/a%20b/%7Bx%7D/caf%C3%A9/%7Bid%7D"
    );
    // Raw and encoded forms of the same segment share a node.
    let n = l.node_count();
    l.observe("/café");
    l.observe("/caf%c3%a9");
    assert_eq!(l.node_count(), n + 1);
}

#[test]
fn format_and_method_suffixes_are_their_own_segments() {
    let mut l = TemplateLearner::new();
    assert_eq!(
        l.observe("/posts/123.json").template,
        "/posts/{post_id}.json"
    );
    let m = l.observe("/2010-04-01/Accounts/AC1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d/Calls.json");
    assert_eq!(m.template, "/2010-04-01/Accounts/{account_id}/Calls.json");
    assert_eq!(
        m.segments().iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        ["2010-04-01", "Accounts", "{account_id}", "Calls", ".json"]
    );
    assert_eq!(
        l.observe("/v1/projects/4242/instances/i-98765:start")
            .template,
        "/v1/projects/{project_id}/instances/{instance_id}:start"
    );
    // Not suffixes: file names, times, addresses.
    assert_eq!(l.observe("/docs/README.md").template, "/docs/README.md");
    assert_eq!(l.observe("/at/12:30").template, "/at/12:30");
    assert_eq!(l.observe("/robots.txt").template, "/robots.txt");
}

#[test]
fn constant_version_segments_stay_literal() {
    // Jira: /rest/api/3/... and Trello: /1/... with a large subtree below.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(11);
    for i in 0..3000 {
        let id = 10_000 + rng.below(5000);
        let p = match i % 6 {
            0 => format!("/rest/api/3/issue/{id}"),
            1 => format!("/rest/api/3/issue/{id}/comment"),
            2 => format!("/rest/api/3/project/{}", rng.below(40)),
            3 => "/rest/api/3/myself".to_string(),
            4 => format!("/rest/api/3/user/search?query={}", rng.word(4)),
            _ => format!("/rest/api/3/issue/{id}/transitions"),
        };
        l.observe(&p);
    }
    assert_eq!(
        settled(&mut l, "/rest/api/3/issue/12345/comment"),
        "/rest/api/3/issue/{issue_id}/comment"
    );
    let mut t = TemplateLearner::new();
    for i in 0..500 {
        t.observe(&format!("/1/members/{}", 500 + i % 77));
        t.observe(&format!("/1/boards/{:024x}/cards", 0xabc0_0000_u64 + i));
    }
    assert_eq!(settled(&mut t, "/1/members/77"), "/1/members/{member_id}");
    // Three distinct small integers in that position are a parameter after all.
    let mut p = TemplateLearner::new();
    for v in ["1", "2", "3", "4"] {
        for _ in 0..5 {
            p.observe(&format!("/{v}/status"));
        }
    }
    assert_eq!(settled(&mut p, "/7/status"), "/{id}/status");
}

#[test]
fn many_resource_names_at_the_root_stay_literal() {
    // 40 resource names at the root (CourtListener-like), most of them rarely called.
    let names = [
        "attorney",
        "case",
        "judge",
        "court",
        "docket",
        "opinion",
        "cluster",
        "audio",
        "person",
        "position",
        "school",
        "education",
        "politician",
        "party",
        "source",
        "retention",
        "alias",
        "search",
        "tag",
        "visualization",
        "citation",
        "recap",
        "document",
        "entry",
        "originating",
        "fjc",
        "financial",
        "disclosure",
        "investment",
        "gift",
        "debt",
        "agreement",
        "reimbursement",
        "spouse",
        "income",
        "alert",
        "memo",
        "upload",
        "fund",
        "appellate",
    ];
    let mut l = TemplateLearner::new();
    let mut rng = Rng(3);
    for _ in 0..2000 {
        let n = names[rng.zipf(names.len())];
        if rng.below(3) == 0 {
            l.observe(&format!("/{n}/"));
        } else {
            l.observe(&format!("/{n}/{}/", 1 + rng.below(100_000)));
        }
    }
    l.settle();
    for n in names {
        assert_eq!(
            l.resolve(&format!("/{n}/12")),
            format!("/{n}/{{{}}}", param_name(Some(n), SegmentKind::Integer))
        );
    }
}

#[test]
fn sub_resources_and_api_groups_stay_literal() {
    let mut l = TemplateLearner::new();
    let subs = [
        "backupRuns",
        "databases",
        "sslCerts",
        "users",
        "operations",
        "flags",
        "tiers",
        "restoreBackup",
        "listServerCas",
        "rotateServerCa",
        "startReplica",
        "stopReplica",
    ];
    let mut rng = Rng(5);
    for _ in 0..800 {
        let inst = format!("db-{}", rng.word(6));
        let s = subs[rng.zipf(subs.len())];
        l.observe(&format!(
            "/v1/projects/{}/instances/{inst}/{s}",
            rng.word(5)
        ));
    }
    assert_eq!(
        settled(&mut l, "/v1/projects/abc/instances/db-xyz/sslCerts"),
        "/v1/projects/{project}/instances/{instance}/sslCerts"
    );
    let mut k = TemplateLearner::new();
    let groups = [
        "apps",
        "batch",
        "storage.k8s.io",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "policy",
        "autoscaling",
    ];
    let kinds = [
        "deployments",
        "jobs",
        "cronjobs",
        "ingresses",
        "roles",
        "statefulsets",
    ];
    for i in 0..600 {
        let g = groups[i % groups.len()];
        let kind = kinds[(i / 7) % kinds.len()];
        let ns = [
            "default",
            "kube-system",
            "payments",
            "checkout",
            "monitoring",
            "ingress-nginx",
            "cert-manager",
            "team-a",
            "argocd",
            "logging",
        ][(i * 7 / 3) % 10];
        k.observe(&format!(
            "/apis/{g}/v1/namespaces/{ns}/{kind}/web-{}",
            rng.word(5)
        ));
        k.observe(&format!("/apis/{g}/v1/{kind}"));
    }
    k.settle();
    assert_eq!(
        k.resolve("/apis/batch/v1/namespaces/prod/jobs/web-abc"),
        "/apis/batch/v1/namespaces/{namespace}/jobs/{job}"
    );
    assert_eq!(
        k.resolve("/apis/apps/v1/deployments"),
        "/apis/apps/v1/deployments"
    );
}

#[test]
fn busy_string_slugs_become_parameters() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(9);
    let subs = [
        "issues", "pulls", "contents", "branches", "commits", "releases", "tags",
    ];
    for _ in 0..3000 {
        let o = OWNERS[rng.zipf(OWNERS.len())];
        let r = REPOS[rng.zipf(REPOS.len())];
        match rng.below(4) {
            0 => l.observe(&format!("/repos/{o}/{r}")),
            1 => l.observe(&format!("/repos/{o}/{r}/{}", subs[rng.zipf(subs.len())])),
            2 => l.observe(&format!("/repos/{o}/{r}/issues/{}", 1 + rng.below(900))),
            _ => l.observe(&format!(
                "/orgs/{o}/members/{}",
                USERS[rng.zipf(USERS.len())]
            )),
        };
    }
    l.settle();
    assert_eq!(
        l.resolve("/repos/rust-lang/rustup/issues/42"),
        "/repos/{repo}/{param}/issues/{issue_id}"
    );
    assert_eq!(
        l.resolve("/repos/neworg/newrepo/pulls"),
        "/repos/{repo}/{param}/pulls"
    );
    assert_eq!(
        l.resolve("/orgs/acme/members/alice38"),
        "/orgs/{org}/members/{member}"
    );
    let m = l.resolve_match("/orgs/acme/members/alice38");
    assert!(m.decisions[1].evidence.is_some(), "{m:?}");
    assert!(m.decisions[1].param);
}

#[test]
fn literal_siblings_survive_next_to_parameters() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(21);
    for _ in 0..1500 {
        let u = USERS[rng.zipf(USERS.len())];
        l.observe(&format!("/users/{u}"));
        l.observe(&format!("/users/{u}/repos"));
        if rng.below(5) == 0 {
            l.observe("/users/me");
        }
        l.observe(&format!("/gists/{:032x}", rng.next()));
        if rng.below(7) == 0 {
            l.observe("/gists/public");
            l.observe("/gists/starred");
        }
        l.observe(&format!("/api/issues/{}", rng.below(9000)));
        if rng.below(9) == 0 {
            l.observe("/api/issues/new");
        }
    }
    l.settle();
    assert_eq!(l.resolve("/users/me"), "/users/me");
    assert_eq!(l.resolve("/users/zed"), "/users/{user}");
    assert_eq!(l.resolve("/gists/public"), "/gists/public");
    assert_eq!(l.resolve("/gists/starred"), "/gists/starred");
    assert_eq!(
        l.resolve("/gists/0123456789abcdef0123456789abcdef"),
        "/gists/{gist_hash}"
    );
    assert_eq!(l.resolve("/api/issues/new"), "/api/issues/new");
    assert_eq!(l.resolve("/api/issues/7"), "/api/issues/{issue_id}");
}

#[test]
fn actions_and_collections_under_a_word_stay_literal() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(4);
    let actions = [
        "assign",
        "unassign",
        "change_dns_ptr",
        "change_protection",
        "reboot",
        "poweroff",
    ];
    let colls = [
        "devices",
        "interfaces",
        "racks",
        "sites",
        "cables",
        "regions",
        "platforms",
        "locations",
    ];
    for _ in 0..1500 {
        let a = actions[rng.zipf(actions.len())];
        l.observe_with(Observation {
            query: None,
            path: &format!("/v1/servers/{}/actions/{a}", rng.below(999)),
            method: "POST",
        });
        let c = colls[rng.below(colls.len())];
        let id = rng.below(5000);
        l.observe_with(Observation {
            query: None,
            path: &format!("/api/dcim/{c}/{id}"),
            method: "GET",
        });
        l.observe_with(Observation {
            query: None,
            path: &format!("/api/dcim/{c}/{id}"),
            method: "DELETE",
        });
        l.observe_with(Observation {
            query: None,
            path: &format!("/api/dcim/{c}"),
            method: "GET",
        });
    }
    l.settle();
    assert_eq!(
        l.resolve("/v1/servers/1/actions/reboot"),
        "/v1/servers/{server_id}/actions/reboot"
    );
    assert_eq!(l.resolve("/api/dcim/racks/5"), "/api/dcim/racks/{rack_id}");
}

#[test]
fn a_constant_token_in_the_base_path_is_literal() {
    let mut l = TemplateLearner::new();
    let methods = [
        "sendMessage",
        "getUpdates",
        "getMe",
        "setWebhook",
        "answerCallbackQuery",
        "sendPhoto",
    ];
    for i in 0..300 {
        l.observe(&format!(
            "/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/{}",
            methods[i % methods.len()]
        ));
    }
    l.settle();
    assert_eq!(
        l.resolve("/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/getMe"),
        "/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/getMe"
    );
    assert_eq!(l.stats().constants, 1);
    // The stored template of before maps to the literal one, through its example.
    let m = l
        .retemplate(
            "/{id}/getMe",
            Some("/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/getMe"),
        )
        .unwrap();
    assert_eq!(
        m.template,
        "/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/getMe"
    );
}

#[test]
fn retemplate_maps_stored_templates_forward() {
    let mut l = TemplateLearner::new();
    l.observe("/people/alice/profile");
    l.settle();
    assert_eq!(l.resolve("/people/alice/profile"), "/people/alice/profile");
    let g = l.generation();
    let mut rng = Rng(77);
    for _ in 0..200 {
        l.observe(&format!("/people/{}{}/profile", rng.word(4), rng.word(3)));
    }
    l.settle();
    assert!(l.generation() > g);
    let m = l.retemplate("/people/alice/profile", None).unwrap();
    assert_eq!(m.template, "/people/{person}/profile");
    assert!(l.retemplate("/people/{person}/profile", None).is_none());
    // Unknown positions stay as they are.
    assert!(l.retemplate("/other/thing", None).is_none());
}

#[test]
fn seeds_restore_parameters_without_pinning() {
    let mut l = TemplateLearner::new();
    l.seed(
        "/orgs/{org}/members/{member}",
        "literal/vocabulary/literal/structure",
    );
    assert_eq!(
        l.observe("/orgs/acme/members/zed").template,
        "/orgs/{org}/members/{member}"
    );
    // A typed seed keeps its name and leaves string siblings alone.
    l.seed("/items/{item_id}", "literal/typed:integer");
    assert_eq!(l.observe("/items/42").template, "/items/{item_id}");
    assert_eq!(l.observe("/items/search").template, "/items/search");
}

#[test]
fn pinned_templates_win() {
    let mut l = TemplateLearner::new();
    l.pin("/users/{id}/avatar").unwrap();
    l.pin("/users/me/avatar").unwrap();
    l.pin("/posts/{post}.json").unwrap();
    assert_eq!(
        l.observe("/users/alice/avatar").template,
        "/users/{id}/avatar"
    );
    assert_eq!(l.observe("/users/me/avatar").template, "/users/me/avatar");
    assert_eq!(
        l.observe("/posts/hello-world.json").template,
        "/posts/{post}.json"
    );
    assert_eq!(
        rules(&l.observe("/users/bob/avatar")),
        ["pinned", "pinned", "pinned"]
    );
    assert_eq!(
        l.pin("/a/{x}/{x}"),
        Err(PinError::DuplicateParam("x".into()))
    );
    assert!(matches!(
        l.pin("/a/{b c}"),
        Err(PinError::InvalidSegment(_))
    ));
    assert!(matches!(l.pin("/a/x{y}"), Err(PinError::InvalidSegment(_))));
    let mut small = TemplateLearner::with_config(TemplateConfig {
        max_pins: 1,
        ..TemplateConfig::default()
    });
    small.pin("/a").unwrap();
    small.pin("/a").unwrap();
    assert_eq!(small.pin("/b"), Err(PinError::TooMany));
    assert_eq!(small.stats().pins_rejected, 1);
}

#[test]
fn observe_matches_resolve_after_settling() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(7);
    let mut paths = Vec::new();
    for i in 0..3000 {
        let path = match i % 5 {
            0 => format!("/api/v2/items/{}/detail", rng.word(5)),
            1 => format!("/api/v2/items/{}", rng.next() % 1000),
            2 => format!("/static/{}.js", rng.word(3)),
            3 => "/api/v2/items/search".to_string(),
            _ => format!("/x/{}/{}/{}", rng.word(2), rng.word(2), rng.word(2)),
        };
        l.observe(&path);
        paths.push(path);
    }
    l.settle();
    for p in &paths {
        let r = l.resolve_match(p);
        assert_eq!(l.observe(p).template, r.template, "{p}");
    }
}

#[test]
fn long_paths_and_segments() {
    let cfg = TemplateConfig {
        max_segments: 4,
        max_segment_len: 16,
        ..TemplateConfig::default()
    };
    let mut l = TemplateLearner::with_config(cfg);
    let m = l.observe("/a/b/c/d/e/f/g");
    assert_eq!(m.template, "/a/b/c/d/{rest}");
    assert_eq!(rules(&m).last(), Some(&"truncated"));
    let long = "x".repeat(40);
    let m = l.observe(&format!("/files/{long}"));
    assert_eq!(m.template, "/files/{file}");
    assert_eq!(rules(&m)[1], "oversize");
    assert_eq!(l.stats().truncated_paths, 1);
    assert_eq!(l.stats().oversize_segments, 1);
}

#[test]
fn children_cap_collapses_node() {
    let mut l = TemplateLearner::with_config(TemplateConfig {
        max_children: 50,
        ..TemplateConfig::default()
    });
    for i in 0..60 {
        l.observe(&format!(
            "/t/{}",
            "kw".repeat(1 + i % 30) + &"z".repeat(i / 30)
        ));
    }
    assert!(l.stats().child_overflows >= 1);
    assert_eq!(l.resolve("/t/anything"), "/t/{t}");
}

#[test]
fn node_cap_is_respected_and_consistent() {
    let mut l = TemplateLearner::with_config(TemplateConfig {
        max_nodes: 64,
        ..TemplateConfig::default()
    });
    let mut rng = Rng(99);
    for _ in 0..5000 {
        let p = format!("/{}/{}/{}", rng.word(3), rng.word(3), rng.word(3));
        let m = l.observe(&p);
        assert!(l.node_count() <= 64);
        assert!(m.template.len() <= 3 * 16 + 8, "{}", m.template);
    }
    assert!(l.stats().node_cap_hits > 0);
    l.settle();
    assert!(l.node_count() <= 64);
}

#[test]
fn flood_of_random_paths_stays_bounded_and_collapses() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(1234);
    for _ in 0..50_000 {
        let p = format!("/{}/{}/{}", rng.word(8), rng.word(8), rng.word(8));
        l.observe(&p);
    }
    l.settle();
    assert!(l.node_count() < 5_000, "{:?}", l.stats());
    assert_eq!(l.resolve("/aaaa/bbbb/cccc"), "/{param}/{param2}/{param3}");
}

#[test]
fn hostile_paths() {
    let mut l = TemplateLearner::new();
    for p in [
        "/%",
        "/%zz",
        "/%00/%FF",
        "/{}",
        "/{{x}}",
        "/..",
        "/../../..",
        "//////",
        "/a/./../b",
        "/\u{202e}/evil",
        "/ü/😀",
        "/.json",
        "/:x",
        "/a:",
        "/a.",
        "/{id}.json",
    ] {
        let m = l.observe(p);
        assert!(m.template.starts_with('/'));
        assert!(!m.template.contains("{}"), "{p} -> {}", m.template);
        l.settle();
        let _ = l.resolve_match(p);
        let _ = l.retemplate(p, Some(p));
    }
    let long = "/a".repeat(10_000);
    let m = l.observe(&long);
    assert!(m.template.len() < 200);
}

#[test]
fn random_inputs_never_panic() {
    let mut l = TemplateLearner::with_config(TemplateConfig {
        max_nodes: 500,
        max_children: 20,
        ..TemplateConfig::default()
    });
    let mut rng = Rng(42);
    let alphabet: Vec<char> = "/.%{}:?#aZ09-_ é😀\u{202e}".chars().collect();
    for i in 0..20_000 {
        let len = rng.below(40);
        let p: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let method = ["GET", "POST", "DELETE", "X"][i % 4];
        l.observe_with(Observation {
            query: None,
            path: &p,
            method,
        });
        if i % 997 == 0 {
            l.settle();
            let _ = l.dump(50);
        }
        let _ = l.resolve_match(&p);
        let _ = l.retemplate(&p, None);
        if i % 13 == 0 {
            l.note_shape(&p, rng.next());
        }
    }
    assert!(l.node_count() <= 500);
}

#[test]
fn learner_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<TemplateLearner>();
    check::<book::TemplateBook>();
}

#[test]
fn format_names_side_by_side_are_one_parameter() {
    // XML is asked for rarely, so its sub-paths are a sample of JSON's: structure alone
    // does not say these are values.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(77);
    let ops = [
        "Games",
        "Players",
        "AllTeams",
        "Stadiums",
        "Standings",
        "News",
        "Injuries",
        "Teams",
        "Schedules",
        "Referees",
        "Odds",
        "BoxScores",
        "Leagues",
        "Seasons",
        "Transactions",
        "Projections",
        "Rankings",
        "Venues",
        "Coaches",
        "Awards",
    ];
    for _ in 0..600 {
        let fmt = if rng.below(12) == 0 { "XML" } else { "JSON" };
        let op = ops[rng.zipf(ops.len())];
        l.observe(&format!(
            "/v3/nhl/scores/{fmt}/{op}/{}",
            2000 + rng.below(25)
        ));
    }
    l.settle();
    assert_eq!(
        l.resolve("/v3/nhl/scores/XML/Players/2020"),
        l.resolve("/v3/nhl/scores/JSON/Players/2020")
    );
    let t = l.resolve("/v3/nhl/scores/JSON/Players/2020");
    assert!(
        t.starts_with("/v3/nhl/scores/{") && t.contains("/Players/"),
        "{t}"
    );
}

#[test]
fn one_item_between_two_collections_is_a_value() {
    // One server seen, with a large subtree of collections below it.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(5);
    let colls = [
        ("failoverGroups", "failover"),
        ("databases", "export"),
        ("firewallRules", "enable"),
        ("elasticPools", "metrics"),
        ("keys", "rotate"),
    ];
    for _ in 0..1500 {
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            rng.next() as u32,
            rng.below(99)
        );
        let (coll, action) = colls[rng.below(colls.len())];
        let (method, tail) = match rng.below(3) {
            0 => ("GET", String::new()),
            1 => ("DELETE", format!("/{id}")),
            _ => ("POST", format!("/{id}/{action}")),
        };
        l.observe_with(Observation {
            query: None,
            path: &format!("/providers/Microsoft.Sql/servers/test-document-9/{coll}{tail}"),
            method,
        });
    }
    l.settle();
    let t = l.resolve("/providers/Microsoft.Sql/servers/test-document-9/failoverGroups");
    assert_eq!(
        t,
        "/providers/Microsoft.Sql/servers/{server}/failoverGroups"
    );
}

#[test]
fn words_requested_where_values_only_pass_through_stay_literal() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(9);
    for _ in 0..1500 {
        match rng.below(6) {
            0 | 1 => {
                l.observe_with(Observation {
                    query: None,
                    path: "/v2/bets/freebets",
                    method: "GET",
                });
            }
            2 => {
                l.observe_with(Observation {
                    query: None,
                    path: "/v2/bets/betslips",
                    method: "POST",
                });
            }
            3 => {
                l.observe_with(Observation {
                    query: None,
                    path: "/v2/bets/history",
                    method: "GET",
                });
            }
            _ => {
                let id = format!("Qm{}X{}", rng.word(6), rng.word(3));
                l.observe_with(Observation {
                    query: None,
                    path: &format!("/v2/bets/{id}/cashin"),
                    method: "PUT",
                });
            }
        }
    }
    l.settle();
    assert_eq!(l.resolve("/v2/bets/freebets"), "/v2/bets/freebets");
    assert_eq!(l.resolve("/v2/bets/betslips"), "/v2/bets/betslips");
    assert_eq!(l.resolve("/v2/bets/history"), "/v2/bets/history");
    assert_eq!(
        l.resolve("/v2/bets/QmzzzXyy/cashin"),
        "/v2/bets/{bet}/cashin"
    );
}

#[test]
fn host_names_are_values_and_words_beside_them_are_not() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(31);
    let tlds = ["com", "fr", "io", "co.uk", "net"];
    for _ in 0..1200 {
        let host = format!("{}.{}", rng.word(5), tlds[rng.below(tlds.len())]);
        l.observe(&format!("/v1/domains/{host}"));
        if rng.below(3) == 0 {
            l.observe(&format!("/v1/domains/{host}/records"));
        }
        if rng.below(8) == 0 {
            l.observe("/v1/domains/purchase");
            l.observe("/v1/domains/agreements");
        }
    }
    l.settle();
    assert_eq!(l.resolve("/v1/domains/docker.fr"), "/v1/domains/{domain}");
    assert_eq!(l.resolve("/v1/domains/purchase"), "/v1/domains/purchase");
    assert_eq!(
        l.resolve("/v1/domains/agreements"),
        "/v1/domains/agreements"
    );
}

#[test]
fn operations_named_by_verbs_stay_literal() {
    // Some operations are rare (no closed vocabulary of busy words): the verbs decide.
    let mut l = TemplateLearner::new();
    let ops = [
        ("show", 200),
        ("carbon_calculate", 15),
        ("create", 12),
        ("crypto_calculate", 10),
        ("index", 8),
        ("carbon_stats", 30),
    ];
    for (op, n) in ops {
        for _ in 0..n {
            l.observe(&format!("/api/v1/donations/{op}"));
        }
    }
    l.settle();
    for (op, _) in ops {
        let p = format!("/api/v1/donations/{op}");
        assert_eq!(l.resolve(&p), p);
    }
}

#[test]
fn the_same_traffic_gives_the_same_templates_in_every_learner() {
    // Many siblings with large sub-trees: the learner's verdicts must not depend on the
    // order its hash maps happen to store children in.
    let mut paths = Vec::new();
    let mut rng = Rng(2024);
    for _ in 0..6000 {
        let g = rng.zipf(40);
        let sub = rng.zipf(30);
        let leaf = rng.zipf(12);
        paths.push(format!(
            "/v1.0/groups/g{g}x/{}/{}/{}",
            [
                "sites", "events", "members", "drives", "calendar", "onenote"
            ][sub % 6],
            rng.word(1 + sub % 3),
            ["items", "fields", "pages", "columns"][leaf % 4],
        ));
    }
    let learn = || {
        let mut l = TemplateLearner::new();
        for p in &paths {
            l.observe(p);
        }
        l.settle();
        let mut t = l.templates();
        t.sort();
        t
    };
    let first = learn();
    for _ in 0..3 {
        assert_eq!(learn(), first);
    }
}

#[test]
fn format_suffixes_seen_side_by_side_are_one_parameter() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(8);
    for _ in 0..400 {
        let ext = ["json", "xml", "geojson"][rng.below(3)];
        l.observe(&format!("/sites/{}.{ext}", rng.below(90_000)));
        l.observe("/feeds/latest.atom");
    }
    l.settle();
    let m = l.resolve_match("/sites/123.xml");
    assert_eq!(m.template, "/sites/{site_id}.{format}");
    let params: Vec<&str> = m.params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(params, ["site_id", "format"]);
    assert_eq!(l.resolve("/sites/7.json"), "/sites/{site_id}.{format}");
    // One format seen: the suffix stays literal.
    assert_eq!(l.resolve("/feeds/latest.atom"), "/feeds/latest.atom");
    let templates: Vec<String> = l.templates().into_iter().map(|(t, _)| t).collect();
    assert!(
        templates.contains(&"/sites/{site_id}.{format}".to_string()),
        "{templates:?}"
    );
}

#[test]
fn a_closed_vocabulary_of_busy_words_stays_literal() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(41);
    let periods = ["week", "day", "year", "month", "hour"];
    for _ in 0..3000 {
        l.observe(&format!(
            "/api/v1/spots/{}",
            periods[rng.below(periods.len())]
        ));
    }
    l.settle();
    for p in periods {
        let path = format!("/api/v1/spots/{p}");
        assert_eq!(l.resolve(&path), path);
    }
    // The same words arriving as values (new ones keep coming) are a parameter.
    let mut l = TemplateLearner::new();
    for i in 0..3000 {
        let w = format!(
            "{}{}",
            periods[i % 4],
            "abcdefghijklmnopqrstuvwxyz".as_bytes()[i % 26] as char
        );
        l.observe(&format!("/api/v1/spots/{w}"));
    }
    l.settle();
    assert_eq!(l.resolve("/api/v1/spots/dayq"), "/api/v1/spots/{spot}");
}

/// A few named operations, each with formats chosen by suffix (`/sites/near.xhtml`,
/// `/sites/near.geojson`, `/lists/names.jsonp`): every stem keeps its name and the suffix is
/// one `.{format}` parameter.
#[test]
fn named_operations_with_format_suffixes() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(19);
    let stems = ["near", "nearest", "within"];
    let formats = ["json", "jsonp", "xhtml", "geojson", "kml", "shpz"];
    for _ in 0..600 {
        let stem = stems[rng.below(stems.len())];
        let ext = formats[rng.below(formats.len())];
        l.observe(&format!("/sites/{stem}.{ext}?point=1,2"));
    }
    l.settle();
    for stem in stems {
        assert_eq!(
            l.resolve(&format!("/sites/{stem}.xhtml")),
            format!("/sites/{stem}.{{format}}")
        );
    }
}

/// Leaf operations named by long words written together, each with its own required
/// query parameters, stay literal (`/stats/commonteamroster?Season=&TeamID=`); values of
/// one parameter called with the same query parameters collapse.
#[test]
fn operations_told_apart_by_their_query_parameters() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(23);
    let ops: Vec<(String, Vec<String>)> = (0..40)
        .map(|i| {
            let name = format!("report{}", ["alpha", "beta", "gamma", "delta"][i % 4]);
            let keys = (0..3).map(|k| format!("P{}", i * 3 + k)).collect();
            (format!("{name}{i}"), keys)
        })
        .collect();
    for _ in 0..4000 {
        let (op, keys) = &ops[rng.below(ops.len())];
        let q: Vec<String> = keys
            .iter()
            .map(|k| format!("{k}=v{}", rng.below(9)))
            .collect();
        l.observe(&format!("/stats/{op}?{}", q.join("&")));
        let user = format!("user{}x{}", rng.below(500), rng.below(7));
        l.observe(&format!(
            "/people/{user}?expand=profile&page={}",
            rng.below(4)
        ));
    }
    l.settle();
    for (op, _) in &ops {
        let path = format!("/stats/{op}?P1=x");
        assert_eq!(l.resolve(&path), format!("/stats/{op}"));
    }
    assert_eq!(l.resolve("/people/user7x3"), "/people/{person_id}");
}

/// Parameters written `{}` whatever their names, for comparing template shapes.
fn shape_of(template: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for ch in template.chars() {
        match ch {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(ch),
        }
    }
    out
}

/// Google's point-release versions (`v1p1beta1`) are versions: literal, and the ids after
/// them are values.
#[test]
fn point_release_versions_stay_literal() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(29);
    for _ in 0..600 {
        let kind = ["files", "images"][rng.below(2)];
        let verb = ["annotate", "asyncBatchAnnotate"][rng.below(2)];
        if rng.below(3) == 0 {
            l.observe(&format!("/v1p1beta1/{kind}:{verb}"));
        } else {
            let parent = [266_710, 545_108, 286_150, 901_223][rng.below(4)];
            l.observe(&format!("/v1p1beta1/{parent}/{kind}:{verb}"));
        }
    }
    l.settle();
    assert_eq!(
        l.resolve("/v1p1beta1/files:annotate"),
        "/v1p1beta1/files:annotate"
    );
    assert_eq!(
        shape_of(&l.resolve("/v1p1beta1/266710/images:asyncBatchAnnotate")),
        "/v1p1beta1/{}/images:asyncBatchAnnotate"
    );
}

const NAME_WORDS: &[&str] = &[
    "alias",
    "avatar",
    "backup",
    "chart",
    "cluster",
    "contract",
    "delivery",
    "domain",
    "email",
    "galaxy",
    "grant",
    "import",
    "invite",
    "issue",
    "label",
    "license",
    "notification",
    "phone",
    "role",
    "score",
    "summary",
    "timeline",
    "country",
    "form",
    "identity",
    "log",
    "color",
    "catalog",
    "bookmark",
    "billing",
    "block",
    "budget",
    "comment",
    "device",
    "engine",
    "folder",
    "garden",
    "harbor",
    "island",
    "journal",
];

/// Word-like names at the top level (`/v1/{name}`) that all continue with the same custom
/// methods and nothing else are values, once there are many of them (counting the known
/// route words among them).
#[test]
fn names_continuing_only_alike_at_the_top_are_values() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(31);
    for _ in 0..700 {
        if rng.below(3) == 0 {
            l.observe("/v1/shelves");
            continue;
        }
        let name = NAME_WORDS[rng.zipf(NAME_WORDS.len())];
        match rng.below(3) {
            0 => l.observe(&format!("/v1/{name}")),
            1 => l.observe(&format!("/v1/{name}:borrow")),
            _ => l.observe(&format!("/v1/{name}:return")),
        };
    }
    l.settle();
    for name in ["invite", "cluster", "galaxy"] {
        assert_eq!(shape_of(&l.resolve(&format!("/v1/{name}"))), "/v1/{}");
        assert_eq!(
            shape_of(&l.resolve(&format!("/v1/{name}:borrow"))),
            "/v1/{}:borrow"
        );
    }
}

/// Many top-level names each followed by the same deep chain of route words
/// (`/{scope}/providers/Microsoft.Authorization/denyAssignments`) are values of one
/// parameter, however much they read as words; a few resource words with sub-paths of their
/// own stay literal (see `many_resource_names_at_the_root_stay_literal`).
#[test]
fn names_followed_by_one_deep_chain_are_values() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(37);
    let names = &NAME_WORDS[..24];
    for _ in 0..1500 {
        let scope = names[rng.zipf(names.len())];
        let base = format!("/{scope}/providers/Microsoft.Authorization/denyAssignments");
        if rng.below(2) == 0 {
            l.observe(&base);
        } else {
            l.observe(&format!(
                "{base}/{:08x}-1a2b-4c3d-8e9f-{:012x}",
                rng.below(1 << 30),
                rng.below(1 << 30)
            ));
        }
    }
    l.settle();
    for scope in ["alias", "galaxy", "catalog"] {
        assert_eq!(
            shape_of(&l.resolve(&format!(
                "/{scope}/providers/Microsoft.Authorization/denyAssignments"
            ))),
            "/{}/providers/Microsoft.Authorization/denyAssignments"
        );
    }
}

/// One name followed by the API's scaffold (`/exist/apps/WeGA-WebApp/api/v1/...`) is part
/// of the base path, not a value, however few routes sit below it.
#[test]
fn a_name_before_the_scaffold_is_part_of_the_base_path() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(41);
    for _ in 0..500 {
        let tail = [
            "search/entity",
            "application/newID",
            "application/status",
            "documents",
        ][rng.below(4)];
        l.observe(&format!("/exist/apps/WeGA-WebApp/api/v1/{tail}"));
    }
    l.settle();
    let m = l.resolve_match("/exist/apps/WeGA-WebApp/api/v1/documents");
    assert_eq!(m.template, "/exist/apps/WeGA-WebApp/api/v1/documents");
    assert!(rules(&m).contains(&"base_path"), "{:?}", rules(&m));
}

/// Many singular names after a word, each followed by typed ids, are values with items of
/// their own (`/v1/expense/approval/{id}`); plural collection names followed by ids
/// (`/v1/store/orders/{id}`) stay literal.
#[test]
fn many_singular_names_followed_by_ids_are_values() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(43);
    let names = &NAME_WORDS[..14];
    let collections = ["orders", "users", "invoices", "payments", "refunds"];
    for _ in 0..1500 {
        let name = names[rng.zipf(names.len())];
        l.observe(&format!("/v1/expense/{name}/{}", 1000 + rng.below(90_000)));
        let c = collections[rng.below(collections.len())];
        l.observe(&format!("/v1/store/{c}/{}", 1000 + rng.below(90_000)));
    }
    l.settle();
    for name in ["alias", "backup", "grant"] {
        let m = l.resolve_match(&format!("/v1/expense/{name}/4242"));
        assert_eq!(shape_of(&m.template), "/v1/expense/{}/{}");
        assert!(rules(&m).contains(&"keyed_values"), "{:?}", rules(&m));
    }
    for c in collections {
        assert_eq!(
            shape_of(&l.resolve(&format!("/v1/store/{c}/4242"))),
            format!("/v1/store/{c}/{{}}")
        );
    }
}

/// A handful of names below an operation word, half of them seen once and many reading as
/// names (`/compareStation/Ancient-Cedar`): values arriving.
#[test]
fn a_few_new_names_below_a_word_are_values() {
    let mut l = TemplateLearner::new();
    for (i, name) in [
        "Ancient-Cedar",
        "HarborDelta",
        "Quizzical-Vector",
        "StormDawn",
        "Upbeat-Panther",
        "granite",
        "falcon",
        "meadow",
        "QuartzNova",
    ]
    .iter()
    .enumerate()
    {
        for _ in 0..(if i % 2 == 0 { 1 } else { 3 }) {
            l.observe(&format!("/v1.0/compareStation/{name}"));
        }
    }
    for _ in 0..50 {
        l.observe("/v1.0/getWindStations");
        l.observe("/v1.0/getTides");
    }
    l.settle();
    let m = l.resolve_match("/v1.0/compareStation/StormDawn");
    assert_eq!(shape_of(&m.template), "/v1.0/compareStation/{}");
    assert!(rules(&m).contains(&"openness"), "{:?}", rules(&m));
    assert_eq!(l.resolve("/v1.0/getTides"), "/v1.0/getTides");
}

/// OData key predicates (`indexes('hotels')`, `certificates(thumbprintAlgorithm=sha1,
/// thumbprint=ab12)`) keep their entity set literal and make the keys parameters, so a
/// flood of keyed segments does not turn the resource names beside them into values.
#[test]
fn odata_key_predicates_are_parameters_of_their_entity_set() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(47);
    let sets = [
        "indexes",
        "indexers",
        "datasources",
        "skillsets",
        "synonymmaps",
    ];
    for i in 0..1500 {
        let set = sets[rng.below(sets.len())];
        match rng.below(4) {
            0 => l.observe(&format!("/{set}")),
            1 => l.observe(&format!("/{set}('{}')", USERS[rng.below(USERS.len())])),
            2 => l.observe(&format!(
                "/{set}('{}-{i}')/search.stats",
                OWNERS[rng.below(OWNERS.len())]
            )),
            _ => l.observe(&format!(
                "/certificates(thumbprintAlgorithm={},thumbprint={:x})",
                rng.below(999),
                rng.next()
            )),
        };
        l.observe("/servicestats");
    }
    l.settle();
    assert_eq!(l.resolve("/servicestats"), "/servicestats");
    assert_eq!(l.resolve("/indexes"), "/indexes");
    assert_eq!(l.resolve("/indexes('hotels')"), "/indexes('{key}')");
    assert_eq!(
        l.resolve("/skillsets('x-1')/search.stats"),
        "/skillsets('{key}')/search.stats"
    );
    assert_eq!(
        l.resolve("/certificates(thumbprintAlgorithm=sha1,thumbprint=ab12)"),
        "/certificates(thumbprintAlgorithm={thumbprintAlgorithm},thumbprint={thumbprint})"
    );
    // Only well-formed predicates are split.
    assert_eq!(odata_key("(42)").as_deref(), Some("({key})"));
    assert_eq!(odata_key("(a='x',b=2)").as_deref(), Some("(a='{a}',b={b})"));
    for bad in [
        "()", "(a=b=c)", "('a'b')", "(a,b)", "(1a=2)", "(a=)", "(=x)", "(a='x)",
    ] {
        assert_eq!(odata_key(bad), None, "{bad}");
    }
    assert_eq!(split_suffix("fn(x)y"), ("fn(x)y", None));
    assert_eq!(split_suffix("(x)"), ("(x)", None));
}

/// Right after a representation selector (`/projections/{format}/...`) come the API's
/// operations, as after a version: CamelCase operation names each followed by a date or
/// a season share their sub-paths as values would, yet stay literal (context `Top`).
#[test]
fn operations_after_a_format_parameter_stay_literal() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(53);
    let by_date = [
        "PlayerGameProjectionStatsByDate",
        "DfsSlatesByDate",
        "StartingLineupsByDate",
    ];
    let by_season = ["PlayerSeasonProjectionStats", "TeamSeasonStats"];
    for _ in 0..1500 {
        let format = ["JSON", "XML"][rng.below(2)];
        match rng.below(6) {
            0 | 1 => l.observe(&format!(
                "/v3/nba/projections/{format}/{}/2020-0{}-{:02}",
                by_date[rng.below(by_date.len())],
                1 + rng.below(9),
                1 + rng.below(28)
            )),
            2 | 3 => l.observe(&format!(
                "/v3/nba/projections/{format}/{}/{}",
                by_season[rng.below(by_season.len())],
                2015 + rng.below(10)
            )),
            4 => l.observe(&format!("/v3/nba/projections/{format}/InjuredPlayers")),
            _ => l.observe(&format!("/v3/nba/projections/{format}/DepthCharts")),
        };
    }
    l.settle();
    assert_eq!(
        shape_of(&l.resolve("/v3/nba/projections/JSON/DfsSlatesByDate/2021-01-05")),
        "/v3/nba/projections/{}/DfsSlatesByDate/{}"
    );
    assert_eq!(
        shape_of(&l.resolve("/v3/nba/projections/XML/TeamSeasonStats/2019")),
        "/v3/nba/projections/{}/TeamSeasonStats/{}"
    );
    assert_eq!(
        shape_of(&l.resolve("/v3/nba/projections/XML/DepthCharts")),
        "/v3/nba/projections/{}/DepthCharts"
    );
}

/// A format name below a segment (`/verify/check/json`) selects a representation of the
/// operation before it: operations each followed by `json` or `xml` do not share their
/// sub-paths as values do, so they stay literal.
#[test]
fn operations_followed_by_a_format_stay_literal() {
    let mut l = TemplateLearner::new();
    let mut rng = Rng(59);
    let ops = ["control", "check", "psd2", "search"];
    for _ in 0..500 {
        let format = ["json", "xml"][rng.below(2)];
        match rng.below(6) {
            0 | 1 => l.observe(&format!("/verify/{format}")),
            2 => l.observe("/verify/network-unblock"),
            _ => l.observe(&format!("/verify/{}/{format}", ops[rng.below(ops.len())])),
        };
    }
    l.settle();
    for op in ops {
        assert_eq!(
            shape_of(&l.resolve(&format!("/verify/{op}/json"))),
            format!("/verify/{op}/{{}}")
        );
    }
    assert_eq!(
        l.resolve("/verify/network-unblock"),
        "/verify/network-unblock"
    );
}

/// Two variants of one API served side by side below a literal (`/ws/mobile/api/where/...`,
/// `/ws/otp/api/where/...`), each with the same rich sub-tree, are the values of one
/// parameter (rule `variants`), even when one of them is a known word. Two siblings with
/// sub-trees of their own stay literal.
#[test]
fn variants_with_the_same_rich_sub_tree_are_values() {
    let ops = [
        "schedule-for-stop",
        "metadata",
        "arrivals-and-departures-for-stop",
        "plan-trip",
        "route-details",
        "vehicles-for-route",
        "bicycle-rental",
        "vehicle-for-trip",
        "trip-details",
        "stops-for-location",
        "alert-search",
        "references",
    ];
    let mut l = TemplateLearner::new();
    let mut rng = Rng(61);
    for _ in 0..800 {
        let dialect = ["mobile", "otp"][rng.below(2)];
        let op = ops[rng.zipf(ops.len())];
        l.observe(&format!("/api/query/v1/ws/{dialect}/api/where/{op}"));
    }
    l.settle();
    let m = l.resolve_match("/api/query/v1/ws/otp/api/where/plan-trip");
    assert_eq!(
        shape_of(&m.template),
        "/api/query/v1/ws/{}/api/where/plan-trip"
    );
    assert!(rules(&m).contains(&"variants"), "{:?}", rules(&m));
    assert_eq!(
        shape_of(&l.resolve("/api/query/v1/ws/mobile/api/where/metadata")),
        "/api/query/v1/ws/{}/api/where/metadata"
    );

    // Distinct sub-trees: two routes.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(67);
    for _ in 0..800 {
        let op = ops[rng.zipf(ops.len())];
        if rng.below(2) == 0 {
            l.observe(&format!("/api/query/v1/ws/mobile/{op}"));
        } else {
            l.observe(&format!("/api/query/v1/ws/otp/plan/{}", rng.below(3)));
        }
    }
    l.settle();
    assert_eq!(
        l.resolve("/api/query/v1/ws/mobile/metadata"),
        "/api/query/v1/ws/mobile/metadata"
    );
}

/// An API that puts its version in the path as a value (`/api/v{version}/sites`): most
/// values read as names (`vdevelop`, `vfix-comment-rate`) and collapse into a parameter;
/// the few that look like versions (`v1.15.5`, `v3.8.12`) continue as the values do and
/// are values of it too. One API version beside a parameter stays literal.
#[test]
fn versions_continuing_as_the_values_beside_them_are_values() {
    let ops = [
        "sites",
        "areas",
        "quality/overall",
        "quality/daily",
        "sitetypes",
    ];
    let mut l = TemplateLearner::new();
    let mut rng = Rng(71);
    for i in 0..1500 {
        let version = match rng.below(10) {
            0 => "v1.15.5".to_string(),
            1 => "v3.8.12".to_string(),
            2 | 3 => "vdevelop".to_string(),
            _ => {
                let n = 3 + rng.below(4);
                format!("v{}-{}-{}", rng.word(n), rng.word(4), rng.below(40))
            }
        };
        let op = ops[rng.zipf(ops.len())];
        match i % 3 {
            0 => l.observe(&format!("/api/{version}/{op}")),
            _ => l.observe(&format!("/api/{version}/sites/{}", 1000 + rng.below(9000))),
        };
    }
    l.settle();
    assert_eq!(
        shape_of(&l.resolve("/api/v1.15.5/sites/4711")),
        "/api/v{}/sites/{}"
    );
    assert_eq!(
        shape_of(&l.resolve("/api/v3.8.12/quality/overall")),
        "/api/v{}/quality/overall"
    );
    assert_eq!(
        shape_of(&l.resolve("/api/v9.1.2/areas")),
        "/api/v{}/areas",
        "a new version goes to the parameter"
    );

    // One API version beside tenants: literal.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(73);
    for _ in 0..1500 {
        let op = ops[rng.zipf(ops.len())];
        if rng.below(3) == 0 {
            l.observe(&format!("/api/v2/{op}"));
        } else {
            l.observe(&format!("/api/{}-{}/{op}", rng.word(5), rng.below(500)));
        }
    }
    l.settle();
    assert_eq!(l.resolve("/api/v2/areas"), "/api/v2/areas");
}

/// An account between two collections of an Azure-like resource path, continuing with the
/// same known word as the other accounts (`assets`, a word that says nothing in the sketches)
/// and one asset of its own: a value like the others, not a route kept beside them.
#[test]
fn a_value_continuing_with_the_values_known_word_is_a_value() {
    let base = "/subscriptions/6f1c2b9e-0d5a-4c77-9a51-3b8e2f4d1c00/resourceGroups/rg-media/providers/Microsoft.Media/mediaServices";
    let mut l = TemplateLearner::new();
    let mut rng = Rng(79);
    l.observe(&format!("{base}/echo-oss/assets/QuietHarbor"));
    l.observe(&format!(
        "{base}/castle-labs/assets/Lively-Basalt/getEncryptionKey"
    ));
    for _ in 0..1200 {
        let (a, b) = (4 + rng.below(4), 3 + rng.below(3));
        let account = format!("{}-{}", rng.word(a), rng.word(b));
        let asset = format!("{}_{}", rng.word(5), rng.word(6));
        match rng.below(4) {
            0 => l.observe(&format!("{base}/{account}/assets")),
            1 => l.observe(&format!("{base}/{account}/assets/{asset}/listContainerSas")),
            _ => l.observe(&format!("{base}/{account}/assets/{asset}")),
        };
    }
    l.settle();
    let want = "/subscriptions/{}/resourceGroups/rg-media/providers/Microsoft.Media/mediaServices/{}/assets/{}";
    assert_eq!(
        shape_of(&l.resolve(&format!("{base}/echo-oss/assets/QuietHarbor"))),
        want
    );
    assert_eq!(
        shape_of(&l.resolve(&format!("{base}/castle-labs/assets/Lively-Basalt"))),
        want
    );
}

/// Every value of a parameter starting with the same letters, several of them continuing
/// with a digit (`v1.15.5`, `vv2.0.10`, `vdevelop`, `vfix-rate-12`): the template keeps
/// them (`/api/v{version}/sites`, as the API declares it). Names that merely start alike
/// (`alice`, `anna`, `adam`: no digit after) and typed prefixed ids (`cus_9s8d…`) keep a
/// bare parameter. A later value without the prefix still goes to the same parameter, and
/// the template drops the prefix; a stored template with a prefix seeds back as it was.
#[test]
fn a_prefix_shared_by_every_value_stays_in_the_template() {
    let ops = ["sites", "areas", "quality/overall", "sitetypes"];
    let learn = |seed: u64| {
        let mut l = TemplateLearner::new();
        let mut rng = Rng(seed);
        for i in 0..2000 {
            let version = match rng.below(6) {
                0 => format!("v{}.{}.{}", rng.below(6), rng.below(30), rng.below(20)),
                1 => format!("vv{}.{}.{}", rng.below(6), rng.below(30), rng.below(20)),
                _ => format!("v{}-{}-{}", rng.word(4), rng.word(5), rng.below(40)),
            };
            let op = ops[rng.zipf(ops.len())];
            match i % 3 {
                0 => l.observe(&format!("/api/{version}/{op}")),
                _ => l.observe(&format!("/api/{version}/sites/{}", 1000 + rng.below(9000))),
            };
        }
        l.settle();
        l
    };
    let mut l = learn(83);
    let m = l.resolve_match("/api/v1.15.5/sites/4711");
    assert_eq!(m.template, "/api/v{version}/sites/{site_id}");
    assert_eq!(m.params().first().map(|p| p.0), Some("version"));
    assert_eq!(l.resolve("/api/vdevelop/areas"), "/api/v{version}/areas");
    assert!(
        l.templates()
            .iter()
            .any(|(t, _)| t == "/api/v{version}/areas"),
        "{:?}",
        l.templates()
    );

    // Stored and seeded again: the same template.
    let mut seeded = TemplateLearner::new();
    seeded.seed("/api/v{version}/areas", "scaffold/structure/literal");
    assert_eq!(seeded.resolve("/api/v7.1.0/areas"), "/api/v{version}/areas");
    assert!(
        seeded.check_template("/api/v{version}/areas").is_err(),
        "a pin names whole segments"
    );

    // A value without the prefix: the same parameter, the prefix dropped.
    l.observe("/api/latest/areas");
    l.settle();
    assert_eq!(l.resolve("/api/latest/areas"), "/api/{version}/areas");
    assert_eq!(l.resolve("/api/v1.15.5/areas"), "/api/{version}/areas");

    // Names that start alike, and prefixed ids: no prefix.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(89);
    let names = ["alice", "anna", "adam", "arthur", "amelia", "aaron", "ava"];
    for _ in 0..1500 {
        let who = format!("{}{}", names[rng.below(names.len())], rng.word(3));
        l.observe(&format!("/users/{who}/repos"));
        l.observe(&format!(
            "/customers/cus_{}{}",
            rng.word(6),
            rng.below(1000)
        ));
    }
    l.settle();
    assert_eq!(
        shape_of(&l.resolve("/users/alicexyz/repos")),
        "/users/{}/repos"
    );
    assert_eq!(
        shape_of(&l.resolve("/customers/cus_9s8dq")),
        "/customers/{}"
    );
}

/// `pvt` and `pub` are the short forms of the `private` and `public` scaffold words: the one
/// value ever seen below a collection word (`/api/payments/pvt/...`) stays literal, not a
/// name under the collection, however large the subtree below it.
#[test]
fn abbreviated_access_scope_words_stay_literal() {
    let mut l = TemplateLearner::new();
    for i in 0..60u32 {
        l.observe(&format!("/api/payments/pvt/transactions/{}", 1000 + i * 7));
        if i % 3 == 0 {
            l.observe(&format!("/api/payments/pvt/refunds/{}/status", 500 + i));
        }
        if i % 5 == 0 {
            l.observe("/api/payments/pvt/configuration/fees");
        }
    }
    assert_eq!(
        settled(&mut l, "/api/payments/pvt/transactions/1007"),
        "/api/payments/pvt/transactions/{transaction_id}"
    );
    assert_eq!(
        l.resolve("/api/payments/pvt/configuration/fees"),
        "/api/payments/pvt/configuration/fees"
    );
    let mut l = TemplateLearner::new();
    for i in 0..40u32 {
        l.observe(&format!("/api/catalogs/pub/products/{}", 77 + i));
        l.observe("/api/catalogs/pub/categories/tree");
    }
    assert_eq!(
        settled(&mut l, "/api/catalogs/pub/categories/tree"),
        "/api/catalogs/pub/categories/tree"
    );
}

/// A handful of words after a collection name, each requested a few times and none new, is
/// a closed vocabulary of routes however quiet the API (`/v2/reports/daily`, `.../weekly`),
/// not values; many such words need many requests each.
#[test]
fn a_handful_of_quiet_words_stays_literal() {
    let periods = ["daily", "weekly", "monthly", "quarterly", "yearly"];
    let mut l = TemplateLearner::new();
    for _ in 0..4 {
        for p in periods {
            l.observe(&format!("/v2/reports/{p}"));
        }
    }
    l.settle();
    for p in periods {
        let path = format!("/v2/reports/{p}");
        assert_eq!(l.resolve(&path), path);
    }
    let m = l.resolve_match("/v2/reports/weekly");
    assert_eq!(rules(&m).last(), Some(&"closed_vocabulary"), "{m:?}");
}

/// Values only ever requested themselves (`PUT /v1/workspace/{name}`, each seen once) leave
/// busy words that are only passed through to sub-paths of their own
/// (`/v1/workspace/entity/...`, `/v1/workspace/field/...`) literal when the position
/// collapses; the values still become a parameter.
#[test]
fn route_prefixes_beside_leaf_values_stay_literal() {
    let names = [
        "silver-harbor",
        "quiet-meadow",
        "amber-falcon",
        "north-ledger",
        "rapid-otter",
        "cobalt-bay",
        "gentle-pine",
        "lucky-anchor",
        "misty-river",
        "bold-sparrow",
        "calm-summit",
        "dusty-lantern",
        "ember-grove",
        "frosty-cedar",
        "golden-marsh",
        "hidden-brook",
        "ivory-tower",
        "jolly-canyon",
        "keen-willow",
        "lunar-orchard",
    ];
    let mut l = TemplateLearner::new();
    let get = |l: &mut TemplateLearner, path: &str| {
        l.observe_with(Observation {
            query: None,
            path,
            method: "GET",
        });
    };
    for i in 0..300usize {
        let entity = ["contact", "deal", "invoice", "task"][i % 4];
        let op = ["count", "list", "describe"][(i / 4) % 3];
        get(&mut l, &format!("/v1/workspace/entity/{entity}/{op}"));
        if i % 10 == 0 {
            get(&mut l, &format!("/v1/workspace/field/{}/{op}", 100 + i));
        }
    }
    for name in names {
        l.observe_with(Observation {
            query: None,
            path: &format!("/v1/workspace/{name}"),
            method: "PUT",
        });
    }
    l.settle();
    assert_eq!(
        l.resolve("/v1/workspace/quiet-meadow"),
        "/v1/workspace/{workspace}"
    );
    assert!(
        l.resolve("/v1/workspace/entity/deal/list")
            .starts_with("/v1/workspace/entity/"),
        "{}",
        l.resolve("/v1/workspace/entity/deal/list")
    );
    assert_eq!(
        l.resolve("/v1/workspace/field/120/count"),
        "/v1/workspace/field/{field_id}/count"
    );
}

/// Names people chose mix naming conventions (`silver-kettle`, `quiet_harbor`,
/// `paperLantern`), an API's route words at one place do not: a few such siblings, some
/// seen once, are values (rule `mixed_styles`) after an item and after a word, however
/// much each reads as words. Route words in one convention, and mixed ones each requested
/// again and again, stay literal.
#[test]
fn names_in_mixed_conventions_are_values() {
    let names = [
        "silver-kettle",
        "quiet_harbor",
        "paperLantern",
        "copper-garden",
        "misty_river",
        "winterOrchard",
    ];
    for prefix in ["/projects/17", "/inventory"] {
        let mut l = TemplateLearner::new();
        for (i, name) in names.iter().enumerate() {
            for _ in 0..(if i % 2 == 0 { 1 } else { 2 }) {
                l.observe(&format!("{prefix}/{name}"));
            }
        }
        l.settle();
        let m = l.resolve_match(&format!("{prefix}/misty_river"));
        assert_eq!(
            shape_of(&m.template),
            format!("{prefix}/{{}}").replace("17", "{}")
        );
        assert!(rules(&m).contains(&"mixed_styles"), "{:?}", rules(&m));
    }
    // One convention: route words, however rarely requested.
    let mut l = TemplateLearner::new();
    for (i, word) in [
        "billing-summary",
        "access-policy",
        "release-notes",
        "audit-trail",
        "usage-report",
    ]
    .iter()
    .enumerate()
    {
        for _ in 0..(1 + i % 2) {
            l.observe(&format!("/inventory/{word}"));
        }
    }
    l.settle();
    assert_eq!(
        l.resolve("/inventory/audit-trail"),
        "/inventory/audit-trail"
    );
    // Mixed conventions, every one requested again and again: an API's own routes.
    let mut l = TemplateLearner::new();
    for _ in 0..5 {
        for name in names {
            l.observe(&format!("/inventory/{name}"));
        }
    }
    l.settle();
    assert_eq!(
        l.resolve("/inventory/misty_river"),
        "/inventory/misty_river"
    );
}

/// A format suffix ends a value with dots in it too (`/profiles/oscar.murphy.json` beside
/// `/profiles/quinn.json`): one endpoint, `/profiles/{profile}.json`, and the suffix is
/// its own segment.
#[test]
fn a_format_suffix_after_a_dotted_value() {
    let mut l = TemplateLearner::new();
    for name in [
        "okonkwo",
        "ada.lovelace",
        "zhang.wei",
        "nakamura",
        "oscar.murphy",
        "rmuller",
        "quinn",
        "bennett",
        "ywatson",
        "sreed",
    ] {
        l.observe(&format!("/profiles/{name}.json"));
    }
    l.settle();
    let dotted = l.resolve_match("/profiles/oscar.murphy.json");
    assert_eq!(shape_of(&dotted.template), "/profiles/{}.json");
    assert_eq!(
        rules(&dotted).last(),
        Some(&"suffix"),
        "{:?}",
        rules(&dotted)
    );
    assert_eq!(dotted.template, l.resolve("/profiles/quinn.json"));
}

#[test]
fn small_ids_and_constants_beside_many_ids_are_values() {
    // A two-digit app id right after a version first reads as a version; ids of three
    // digits and more beside it, continuing the same way, say it is one of them.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(5);
    let tails = ["settings", "subscriptions", "subscriptions/batch/update"];
    for i in 0..600 {
        let app = if i % 3 == 0 {
            "72".to_string()
        } else {
            (100 + rng.below(900)).to_string()
        };
        let tail = tails[rng.below(tails.len())];
        l.observe(&format!("/webhooks/v3/{app}/{tail}"));
    }
    let t = settled(&mut l, "/webhooks/v3/72/settings");
    assert!(t.starts_with("/webhooks/v3/{"), "{t}");
    assert_eq!(t, l.resolve("/webhooks/v3/512/settings"));
    // The next small id goes the same way, without a weighing.
    assert_eq!(
        l.observe("/webhooks/v3/73/subscriptions").template,
        l.resolve("/webhooks/v3/512/subscriptions")
    );

    // An id seen alone over a large volume is kept literal (rule `constant`); more ids
    // beside it later, continuing the same way, make it one of them.
    let mut h = TemplateLearner::new();
    let subs = ["pings", "config", "deliveries"];
    for i in 0..120 {
        h.observe(&format!("/orgs/acme/hooks/8/{}", subs[i % 3]));
    }
    h.settle();
    assert_eq!(
        h.resolve("/orgs/acme/hooks/8/pings"),
        "/orgs/acme/hooks/8/pings"
    );
    for i in 0..300 {
        h.observe(&format!(
            "/orgs/acme/hooks/{}/{}",
            1000 + rng.below(5000),
            subs[i % 3]
        ));
    }
    assert_eq!(
        settled(&mut h, "/orgs/acme/hooks/8/pings"),
        h.resolve("/orgs/acme/hooks/4321/pings")
    );
    assert!(h.resolve("/orgs/acme/hooks/8/pings").contains("/{"));
}

#[test]
fn a_version_integer_with_routes_of_its_own_stays_beside_ids() {
    // `/1/...` leads to the API's routes; the ids beside it lead elsewhere.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(9);
    for i in 0..600 {
        match i % 3 {
            0 => l.observe(&format!("/1/members/{}", 500 + rng.below(400))),
            1 => l.observe(&format!("/1/boards/{:024x}/cards", 0xabc0_0000_u64 + i)),
            _ => l.observe(&format!("/{}/status", 100 + rng.below(900))),
        };
    }
    assert_eq!(settled(&mut l, "/1/members/777"), "/1/members/{member_id}");
    assert!(l.resolve("/345/status").starts_with("/{"));
}

const NAMESPACES: &[&str] = &[
    "kube-system",
    "payments",
    "monitoring",
    "ingress-nginx",
    "cert-manager",
    "argo-cd",
    "team-a",
    "billing-prod",
    "search-dev",
    "vault",
    "istio-system",
    "logging",
    "cache-qa",
    "web-staging",
    "data-platform",
    "edge-proxy",
];

#[test]
fn a_collection_word_decides_for_the_same_word_elsewhere() {
    // `/api/v1/namespaces/{ns}/...` collapses on its own evidence; below `watch` a few
    // namespaces, too few and too alike to decide alone, continue as the namespaces do:
    // values too.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(21);
    let kinds = ["pods", "services", "configmaps", "secrets"];
    for _ in 0..800 {
        let ns = NAMESPACES[rng.zipf(NAMESPACES.len())];
        let kind = kinds[rng.below(kinds.len())];
        l.observe(&format!("/api/v1/namespaces/{ns}/{kind}"));
    }
    for _ in 0..20 {
        l.observe("/api/v1/watch/namespaces/flux-system/pods");
        l.observe("/api/v1/watch/namespaces/message-prod/pods");
    }
    let t = settled(&mut l, "/api/v1/watch/namespaces/flux-system/pods");
    assert!(t.starts_with("/api/v1/watch/namespaces/{"), "{t}");
    assert!(t.ends_with("}/pods"), "{t}");

    // A word that leads nowhere below the same collection word stays literal.
    let mut w = TemplateLearner::new();
    for _ in 0..800 {
        let ns = NAMESPACES[rng.zipf(NAMESPACES.len())];
        let kind = kinds[rng.below(kinds.len())];
        w.observe(&format!("/api/v1/namespaces/{ns}/{kind}"));
    }
    for _ in 0..20 {
        w.observe("/api/v1/admin/namespaces/summary");
    }
    assert_eq!(
        settled(&mut w, "/api/v1/admin/namespaces/summary"),
        "/api/v1/admin/namespaces/summary"
    );
}

#[test]
fn a_busy_name_continuing_as_the_ids_do_is_a_value() {
    // Store ids, names seen once, and one busy store name whose only sub-path (`refunds`)
    // none of the other names has, but the ids do: when the position collapses, it is one
    // more store.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(33);
    for i in 0..300 {
        let sub = ["orders", "refunds"][i % 2];
        l.observe(&format!("/v2/stores/{}/{sub}", 100 + rng.below(900)));
    }
    for n in NAMESPACES {
        l.observe(&format!("/v2/stores/{n}-shop/orders"));
    }
    for _ in 0..100 {
        l.observe("/v2/stores/outlet/refunds");
    }
    let t = settled(&mut l, "/v2/stores/outlet/refunds");
    assert_eq!(t, l.resolve("/v2/stores/512/refunds"));
    assert!(t.contains("/{"), "{t}");
}

const CONTAINER_NAMES: &[&str] = &[
    "brave_turing",
    "focused_yalow",
    "gifted_hopper",
    "quirky_lovelace",
    "eager_curie",
    "nostalgic_bell",
    "zen_kilby",
    "vibrant_babbage",
    "sharp_ritchie",
    "happy_thompson",
    "stoic_pike",
    "wizardly_knuth",
    "jolly_dijkstra",
    "modest_wozniak",
    "pensive_torvalds",
    "relaxed_kay",
    "silly_engelbart",
    "youthful_cerf",
];

#[test]
fn actions_posted_beside_values_stay_literal() {
    // Docker: `POST /containers/create` and `POST /containers/prune` beside container
    // names that are read and deleted.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(41);
    for i in 0..400 {
        let name = CONTAINER_NAMES[rng.below(CONTAINER_NAMES.len())];
        let (method, path) = match i % 8 {
            0 => ("POST", "/v1.43/containers/create".to_string()),
            1 => ("POST", "/v1.43/containers/prune".to_string()),
            2 => ("DELETE", format!("/v1.43/containers/{name}")),
            // A name that starts with a verb, only read: a value.
            3 if i % 16 == 3 => ("GET", "/v1.43/containers/start-web/json".to_string()),
            _ => ("GET", format!("/v1.43/containers/{name}/json")),
        };
        l.observe_with(Observation {
            query: None,
            path: &path,
            method,
        });
    }
    l.settle();
    assert_eq!(
        l.resolve("/v1.43/containers/create"),
        "/v1.43/containers/create"
    );
    assert_eq!(
        l.resolve("/v1.43/containers/prune"),
        "/v1.43/containers/prune"
    );
    let value = l.resolve("/v1.43/containers/brave_turing/json");
    assert!(value.starts_with("/v1.43/containers/{"), "{value}");
    assert_eq!(l.resolve("/v1.43/containers/start-web/json"), value);
}

#[test]
fn a_single_name_is_weighed_again_once_the_collection_below_it_is() {
    // One registry, named like an id, whose tokens collapse into a parameter only when the
    // position below it is weighed: then it sits between two collections, a value.
    let tokens: Vec<String> = (0..24)
        .map(|i| {
            format!(
                "{}-{}",
                NAME_WORDS[i % NAME_WORDS.len()],
                USERS[i % USERS.len()]
            )
        })
        .collect();
    let mut l = TemplateLearner::new();
    let mut w = TemplateLearner::new();
    for t in &tokens {
        l.observe(&format!("/v1/registries/AnnCTiJSdenxFI3/tokens/{t}"));
        // A word in the same place stays literal.
        w.observe(&format!("/v1/registries/library/tokens/{t}"));
    }
    let t = settled(&mut l, "/v1/registries/AnnCTiJSdenxFI3/tokens/alice38");
    assert!(t.starts_with("/v1/registries/{"), "{t}");
    assert!(t.contains("}/tokens/{"), "{t}");
    let t = settled(&mut w, "/v1/registries/library/tokens/alice38");
    assert!(t.starts_with("/v1/registries/library/tokens/{"), "{t}");
}

const ADJECTIVES: &[&str] = &[
    "amber", "brave", "calm", "dusty", "eager", "fancy", "gentle", "happy", "icy", "jolly", "keen",
    "lucky", "modest", "noble", "quiet", "rapid",
];
const NOUNS: &[&str] = &[
    "falcon", "river", "meadow", "harbor", "canyon", "forest", "garden", "island", "lantern",
    "mountain", "valley", "comet",
];

fn call(l: &mut TemplateLearner, method: &str, path: &str) {
    l.observe_with(Observation {
        path,
        method,
        query: None,
    });
}

#[test]
fn values_of_a_few_parameters_at_one_top_level_position_collapse() {
    // Google style: `/v1/{parent}/contactCenters`, `/v1/{parent}:queryQuota` and
    // `/v1/{name}/operations`, `/v1/{name}:cancel` at one position. The values read as words,
    // every one is called again and again, and the two groups share no label: each value
    // continues as the others of its group do, with nothing of its own.
    let parents: Vec<String> = (0..30)
        .map(|i| format!("{}-{}", ADJECTIVES[i % 16], NOUNS[i % 12]))
        .collect();
    let names: Vec<String> = (0..12)
        .map(|i| format!("{}-{}", NOUNS[i], ADJECTIVES[(i + 5) % 16]))
        .collect();
    let mut l = TemplateLearner::new();
    for i in 0..1800 {
        if i % 3 > 0 {
            let v = &parents[(i / 3) % parents.len()];
            match i % 4 {
                0 | 1 => call(&mut l, "POST", &format!("/v1alpha1/{v}/contactCenters")),
                _ => call(&mut l, "GET", &format!("/v1alpha1/{v}:queryQuota")),
            }
        } else {
            let v = &names[(i / 3) % names.len()];
            match (i / 36) % 3 {
                0 => call(&mut l, "GET", &format!("/v1alpha1/{v}/operations")),
                1 => call(&mut l, "GET", &format!("/v1alpha1/{v}/locations")),
                _ => call(&mut l, "POST", &format!("/v1alpha1/{v}:cancel")),
            }
        }
    }
    l.settle();
    let parent = l.resolve(&format!("/v1alpha1/{}/contactCenters", parents[4]));
    assert!(parent.starts_with("/v1alpha1/{"), "{parent}");
    assert!(parent.ends_with("}/contactCenters"), "{parent}");
    let name = l.resolve(&format!("/v1alpha1/{}/operations", names[2]));
    assert!(name.ends_with("}/operations"), "{name}");
    assert_eq!(
        name.trim_end_matches("/operations"),
        parent.trim_end_matches("/contactCenters")
    );
}

#[test]
fn codes_all_continuing_with_one_label_stay_literal() {
    // Document kinds of a government API (`/v3/lvcer/certificate`, `/v3/incer/certificate`):
    // many codes, every one busy, continuing with the same single label.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(43);
    let codes: Vec<String> = (0..18).map(|_| rng.word(5)).collect();
    for i in 0..900 {
        let c = &codes[i % codes.len()];
        call(&mut l, "POST", &format!("/dittripura/v3/{c}/certificate"));
    }
    l.settle();
    let c = &codes[3];
    assert_eq!(
        l.resolve(&format!("/dittripura/v3/{c}/certificate")),
        format!("/dittripura/v3/{c}/certificate")
    );
}

#[test]
fn slugs_are_values_however_much_they_read_as_words() {
    // Search strings written as slugs of dictionary words, most of them called again and
    // again, a few once.
    let slugs: Vec<String> = (0..40)
        .map(|i| {
            let mut words = vec![
                NOUNS[i % 12],
                ADJECTIVES[(i * 7) % 16],
                NOUNS[(i * 5 + 3) % 12],
            ];
            if i % 2 == 0 {
                words.push(ADJECTIVES[(i * 3) % 16]);
            }
            words.join("-")
        })
        .collect();
    let mut l = TemplateLearner::new();
    for (i, slug) in slugs.iter().enumerate() {
        let times = if i % 8 == 0 { 1 } else { 2 + i % 5 };
        for _ in 0..times {
            call(&mut l, "GET", &format!("/civix/document/search/{slug}"));
        }
    }
    l.settle();
    let t = l.resolve(&format!("/civix/document/search/{}", slugs[5]));
    assert!(t.starts_with("/civix/document/search/{"), "{t}");
}

#[test]
fn a_few_phrase_routes_stay_literal() {
    // `/numbers/prime/is-mersenne-prime`: eight routes named by phrases, each called again and
    // again, none new.
    let routes = [
        "is-mersenne-prime",
        "is-pell-prime",
        "is-partition-prime",
        "is-fibonacci-prime",
        "is-fermat-prime",
        "is-lucky-prime",
        "is-happy-prime",
        "is-balanced-prime",
    ];
    let mut l = TemplateLearner::new();
    for i in 0..400 {
        call(
            &mut l,
            "GET",
            &format!("/numbers/prime/{}", routes[i % routes.len()]),
        );
    }
    l.settle();
    assert_eq!(
        l.resolve("/numbers/prime/is-pell-prime"),
        "/numbers/prime/is-pell-prime"
    );
}

#[test]
fn a_word_seen_once_beside_values_is_one_more_value() {
    // `/stats/{name}/{id}`: names arriving, nearly all seen once; one of them reads as a word.
    // One request below it is one path, not a sub-tree of routes of its own.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(53);
    for i in 0..80 {
        if i == 3 {
            call(&mut l, "GET", "/api/stats/analytics/Kx9qZb2w");
        }
        let name = format!("{}{}", rng.word(6), i);
        call(&mut l, "GET", &format!("/api/stats/{name}/{}", rng.word(8)));
    }
    l.settle();
    let t = l.resolve("/api/stats/analytics/Kx9qZb2w");
    assert!(t.starts_with("/api/stats/{"), "{t}");
}

#[test]
fn compound_plural_words_after_an_item_stay_literal() {
    // `/v1/{parent}/bareMetalClusters`, `/v1/{parent}/vmwareNodePools:enroll`: collection names
    // below an item, written as compounds that are not all dictionary words, with the same
    // actions each.
    let collections = [
        "bareMetalClusters",
        "bareMetalNodePools",
        "bareMetalAdminClusters",
        "vmwareClusters",
        "vmwareNodePools",
        "vmwareAdminClusters",
    ];
    let mut l = TemplateLearner::new();
    let mut rng = Rng(59);
    for _ in 0..1500 {
        let p = format!("projects-{}", rng.word(6));
        let c = collections[rng.zipf(collections.len())];
        match rng.below(3) {
            0 => call(&mut l, "POST", &format!("/v1/{p}/{c}")),
            1 => call(&mut l, "GET", &format!("/v1/{p}/{c}")),
            _ => call(&mut l, "POST", &format!("/v1/{p}/{c}:enroll")),
        }
    }
    l.settle();
    let t = l.resolve("/v1/projects-abcdef/vmwareNodePools");
    assert!(t.starts_with("/v1/{"), "{t}");
    assert!(t.ends_with("}/vmwareNodePools"), "{t}");
}

#[test]
fn names_marked_with_a_dollar_are_weighed_as_any_literal() {
    // `/v1/places/$alias`: values written with a leading `$`, arriving. OData's own system
    // segments (`$count`, `$metadata`) stay literal.
    let mut l = TemplateLearner::new();
    let mut rng = Rng(61);
    for i in 0..120 {
        let v = format!("${}_{}", NOUNS[i % NOUNS.len()], rng.word(4));
        call(&mut l, "GET", &format!("/v1/places/{v}"));
        if i % 10 == 0 {
            call(&mut l, "GET", "/odata/People/$count");
        }
    }
    l.settle();
    let t = l.resolve("/v1/places/$river_abcd");
    assert!(t.starts_with("/v1/places/"), "{t}");
    assert!(t.contains('{'), "{t}");
    assert_eq!(l.resolve("/odata/People/$count"), "/odata/People/$count");
}

#[test]
fn top_level_names_arriving_and_updated_one_by_one_are_items() {
    // `GET|PATCH|DELETE /v1/{name}`: names read as words, most seen once; those seen again
    // are updated or deleted.
    let words = [
        "account",
        "archived",
        "board",
        "cart",
        "channel",
        "color",
        "comment",
        "commit",
        "config",
        "connection",
        "delivery",
        "email",
        "export",
        "feature",
        "file",
        "folder",
        "invoice",
        "language",
        "member",
        "milestone",
        "namespace",
        "payment",
        "plan",
        "profile",
        "region",
        "report",
        "schedule",
        "session",
        "ticket",
        "wallet",
    ];
    let mut l = TemplateLearner::new();
    for (i, w) in words.iter().enumerate() {
        call(&mut l, "GET", &format!("/v1/{w}"));
        if i % 4 == 0 {
            call(&mut l, "PATCH", &format!("/v1/{w}"));
            call(&mut l, "DELETE", &format!("/v1/{w}"));
            call(&mut l, "GET", &format!("/v1/{w}"));
        }
    }
    l.settle();
    let t = l.resolve("/v1/folder");
    assert!(t.starts_with("/v1/{"), "{t}");
    // A flat API's operations, read or posted to, stay literal.
    let mut f = TemplateLearner::new();
    for (i, w) in words.iter().enumerate() {
        call(&mut f, "POST", &format!("/api/{w}.list"));
        if i % 4 == 0 {
            call(&mut f, "POST", &format!("/api/{w}.list"));
            call(&mut f, "GET", &format!("/api/{w}.list"));
        }
    }
    f.settle();
    assert_eq!(f.resolve("/api/folder.list"), "/api/folder.list");
}

#[test]
fn rpc_method_names_answering_alike_stay_literal() {
    // `POST /echo/rest_lookups.federal_agencies`: an RPC API's lookups, each answering with the
    // same JSON structure. Alike responses make values of plain names, not of method names.
    let methods = [
        "rest_lookups.federal_agencies",
        "rest_lookups.npdes_parameters",
        "rest_lookups.cwa_pollutants",
        "rest_lookups.icis_law_sections",
        "cwa_rest_services.get_facilities",
        "cwa_rest_services.get_qid",
    ];
    let mut l = TemplateLearner::new();
    for i in 0..300 {
        let path = format!("/echo/{}", methods[i % methods.len()]);
        call(&mut l, "GET", &path);
        l.note_shape(&path, 0xfeed);
    }
    l.settle();
    assert_eq!(
        l.resolve("/echo/rest_lookups.cwa_pollutants"),
        "/echo/rest_lookups.cwa_pollutants"
    );
}
