//! The superuser console in a real headless Chromium (Debian's `chromium` driven
//! through `chromedriver` by the `fantoccini` WebDriver client) against a real govtrail
//! and Neo4j: sign in, filter the timeline by operation and by actor and see exactly
//! the API's entries, open an entity and see a diff, its state as of an instant and its
//! lineage SVG, download its signed packet and verify it offline, a CSRF-less POST is
//! refused, a governance-admin gets 403 (recorded), and the browser never asks any
//! host but govtrail. Each page's screenshot is saved under
//! `target/console-screenshots/`.

#![expect(
    clippy::too_many_lines,
    reason = "one browser session, read top to bottom"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TEST_SECRET, TestApp, claims, hs256, keys_dir, unique};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// `chromedriver` on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or_else(|e| panic!("no free port: {e}"), |a| a.port());
        let mut driver = Self {
            child: Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{program}: {e}. The console tests need Debian's chromium and chromium-driver \
                     (dev/prereqs.sh --test installs them)"
                )
            }),
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        // Ready when its status endpoint answers.
        for _ in 0..1200 {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
                && r.status().is_success()
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = driver.child.kill();
        let _ = driver.child.wait();
        panic!("chromedriver did not answer at {}", driver.url);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--metrics-recording-only", "--no-default-browser-check"],
            "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false}
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("no browser session: {e}"))
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap_or_else(|e| panic!("{e}"));
}

/// Every URL the current page loaded (itself and its resources).
async fn requested(client: &Client) -> Vec<String> {
    let list = client
        .execute(
            "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
            Vec::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

async fn goto(client: &Client, url: &str, seen: &mut Vec<String>) {
    client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    seen.extend(requested(client).await);
}

async fn texts(client: &Client, css: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in client
        .find_all(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
    {
        out.push(
            e.attr(attr)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_default(),
        );
    }
    out
}

async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn click(client: &Client, css: &str) {
    element(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// Clicks `css`, which leaves the page (a form submit or a link), and waits until the
/// browser has replaced the page.
async fn navigate_by_click(client: &Client, css: &str) {
    let old = element(client, "html").await;
    click(client, css).await;
    replaced(&old, css).await;
}

/// Waits until `old` (the previous page's root) goes stale, so the browser shows the
/// next page. Waiting for an element straight after a click could otherwise find it
/// on the old page, which the navigation then detaches under the test.
async fn replaced(old: &fantoccini::elements::Element, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match old.tag_name().await {
            // Chromium reports a node of a document being swapped out either as stale
            // or as an inspector error saying it left the document.
            Err(e)
                if e.is_stale_element_reference()
                    || e.to_string().contains("does not belong to the document") =>
            {
                return;
            }
            Err(e) => panic!("{what}: {e}"),
            Ok(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{what}: the page was not replaced"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn fill(client: &Client, css: &str, value: &str) {
    element(client, css)
        .await
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn sign_in(client: &Client, base: &str, token: &str, seen: &mut Vec<String>) {
    goto(client, &format!("{base}/console/timeline"), seen).await;
    // Not signed in: the console sends the browser to its sign-in page.
    let url = client.current_url().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(url.path(), "/console/sign-in");
    fill(client, "#token", token).await;
    navigate_by_click(client, "form.stack button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("table.entries"))
        .await
        .unwrap_or_else(|e| panic!("no timeline after sign-in: {e}"));
    seen.extend(requested(client).await);
}

/// The ids of the API's first page for `path` (superuser bearer).
async fn api_ids(app: &TestApp, superuser: &str, path: &str) -> Vec<String> {
    let page = app.send("GET", path, superuser, None, &[]).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.body["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

fn named(roles: &[&str], name: &str) -> String {
    let mut c = claims(&unique("console"), roles);
    c["name"] = json!(name);
    hs256(&c, TEST_SECRET.as_bytes())
}

#[tokio::test]
async fn a_superuser_answers_who_changed_what_when_and_why_in_the_browser() {
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0;
    settings.approval_policies.insert(
        govtrail::domain::Operation::DeleteTeam,
        govtrail::config::PolicySetting::Rule {
            approvals: 1,
            role: govtrail::domain::Role::Approver,
        },
    );
    let app = TestApp::spawn_with(settings).await;
    let base = app.base.clone();
    let superuser = named(&["superuser"], "Console Superuser");
    let alice = named(&["governance-admin"], "Alice Console");
    let bob = named(&["governance-admin"], "Bob Console");
    let alice_id = app.user_id(&alice).await;

    // Alice creates a team and changes its areas; Bob changes them again.
    let team = app
        .send(
            "POST",
            "/v1/teams",
            &alice,
            Some(json!({"name": unique("console team")})),
            &[],
        )
        .await;
    assert_eq!(team.status, 201, "{}", team.body);
    let team_id = team.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let areas = |token: &str, areas: &[&str], reason: &str| {
        let (token, body) = (
            token.to_owned(),
            json!({"responsibilityAreas": areas, "reason": reason}),
        );
        let app = &app;
        let path = format!("/v1/teams/{team_id}/responsibility-areas");
        async move {
            let r = app.send("PUT", &path, &token, Some(body), &[]).await;
            assert!(r.status < 300, "{}", r.body);
            r.body["auditLogId"].as_str().unwrap_or_default().to_owned()
        }
    };
    areas(&alice, &["payments"], "payments moved to this team").await;
    // An instant between the two changes, for the as-of view.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    areas(&bob, &["payments", "refunds"], "refunds join payments").await;

    let driver = Driver::start().await;
    let downloads = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let client = browser(&driver, downloads.path()).await;
    let mut seen = Vec::new();

    // Sign in.
    sign_in(&client, &base, &superuser, &mut seen).await;
    assert!(
        text(&client, "nav .who")
            .await
            .contains("Console Superuser")
    );
    shot(&client, "timeline").await;

    // Filter by operation, with the form: exactly the API's entries for that filter.
    client
        .find(Locator::Css("select[name=operation]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("CHANGE_RESPONSIBILITY_AREAS")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fill(&client, "input[name=entityId]", &team_id).await;
    navigate_by_click(&client, "form.filters button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("select[name=operation] option[selected]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    seen.extend(requested(&client).await);
    let url = client.current_url().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        url.query()
            .is_some_and(|q| q.contains("operation=CHANGE_RESPONSIBILITY_AREAS")),
        "the filter is in the URL: {url}"
    );
    let shown = texts(&client, "tr.entry", "data-entry-id").await;
    let want = api_ids(
        &app,
        &superuser,
        &format!("/v1/audit-logs?operation=CHANGE_RESPONSIBILITY_AREAS&entityId={team_id}"),
    )
    .await;
    assert_eq!(shown, want, "the timeline shows the API's entries");
    assert_eq!(
        shown.len(),
        2,
        "Alice's and Bob's changes, not the team's creation"
    );
    assert!(
        texts(&client, "tr.entry", "data-operation")
            .await
            .iter()
            .all(|o| o == "CHANGE_RESPONSIBILITY_AREAS")
    );
    shot(&client, "timeline-by-operation").await;

    // By actor: a shared link with userId, and the actor page.
    goto(
        &client,
        &format!("{base}/console/timeline?userId={alice_id}"),
        &mut seen,
    )
    .await;
    let shown = texts(&client, "tr.entry", "data-entry-id").await;
    assert_eq!(
        shown,
        api_ids(
            &app,
            &superuser,
            &format!("/v1/audit-logs?userId={alice_id}")
        )
        .await
    );
    assert_eq!(shown.len(), 2, "Alice made two changes");
    goto(
        &client,
        &format!("{base}/console/actors/{alice_id}"),
        &mut seen,
    )
    .await;
    assert_eq!(
        texts(&client, "tr.entry", "data-entry-id").await,
        api_ids(&app, &superuser, &format!("/v1/users/{alice_id}/activity")).await
    );
    shot(&client, "actor").await;

    // The entity: diff, consistency, as-of state, lineage SVG.
    let entity = format!("{base}/console/entities/Team/{team_id}");
    goto(&client, &entity, &mut seen).await;
    assert!(
        text(&client, "#consistency")
            .await
            .starts_with("Consistent")
    );
    let newest = text(&client, "article.history-entry table.diff").await;
    assert!(
        newest.contains("responsibilityAreas") && newest.contains("refunds"),
        "{newest}"
    );
    let first_diff = client
        .find(Locator::Css("article.history-entry table.diff td.old"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert_eq!(
        first_diff, "[\"payments\"]",
        "the old value of the newest change"
    );
    let svg = client
        .find(Locator::Css("figure.lineage svg"))
        .await
        .unwrap_or_else(|e| panic!("no lineage SVG: {e}"))
        .html(false)
        .await
        .unwrap_or_default();
    assert!(svg.contains("CHANGE_RESPONSIBILITY_AREAS"), "{svg}");
    shot(&client, "entity").await;
    let figure = client
        .find(Locator::Css("figure.lineage"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(shots().join("lineage.png"), figure).unwrap_or_else(|e| panic!("{e}"));
    fill(
        &client,
        "input[name=at]",
        &between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
    .await;
    navigate_by_click(&client, "#state-heading + form button").await;
    client
        .wait()
        .for_element(Locator::Css("#state-heading"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let heading = text(&client, "#state-heading").await;
    assert!(heading.starts_with("State as of"), "{heading}");
    let state = text(&client, "#state").await;
    assert!(
        state.contains("payments") && !state.contains("refunds"),
        "the replayed state between the changes: {state}"
    );
    seen.extend(requested(&client).await);
    shot(&client, "entity-as-of").await;

    // Verify now: the entity's evidence checked in place.
    navigate_by_click(&client, "#verify-now").await;
    let verdict = client
        .wait()
        .for_element(Locator::Id("verdict"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(verdict.starts_with("VALID: 3 entries"), "{verdict}");
    seen.extend(requested(&client).await);
    shot(&client, "verify-now").await;

    // Download the signed packet and verify it offline.
    goto(&client, &entity, &mut seen).await;
    click(&client, "#packet-heading + form button").await;
    let packet = downloads
        .path()
        .join(format!("govtrail-Team-{team_id}.dsse.json"));
    for _ in 0..1200 {
        if packet.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(packet.exists(), "the packet was downloaded");
    for (verifier, code, output) in common::verify_packet_both(&packet) {
        assert_eq!(code, 0, "{verifier}: {output}");
    }

    // Integrity.
    goto(&client, &format!("{base}/console/integrity"), &mut seen).await;
    assert!(text(&client, "#status").await.starts_with("Status:"));
    shot(&client, "integrity").await;

    // Readable on a phone.
    client
        .set_window_size(390, 844)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    goto(&client, &format!("{base}/console/timeline"), &mut seen).await;
    shot(&client, "timeline-390x844").await;
    client
        .set_window_size(1280, 800)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // A POST without the session's CSRF token is refused, and nothing is exported.
    let cookie = client
        .get_named_cookie("govtrail_session")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let exports_before = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPORT'}) RETURN count(e) AS n",
            json!({}),
            "n",
        )
        .await;
    for body in ["format=csv", "format=csv&csrf=0000"] {
        let refused = app
            .http
            .post(format!("{base}/console/download"))
            .header("Cookie", format!("govtrail_session={}", cookie.value()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refused.status().as_u16(), 403, "{body}");
    }
    assert_eq!(
        app.query_column(
            "MATCH (e:AuditLog {operation: 'EXPORT'}) RETURN count(e) AS n",
            json!({}),
            "n",
        )
        .await,
        exports_before
    );

    // A governance-admin asks to delete an empty team; it waits for an approver.
    let spare = app
        .send(
            "POST",
            "/v1/teams",
            &alice,
            Some(json!({"name": unique("console spare")})),
            &[],
        )
        .await;
    let spare_id = spare.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let asked = app
        .send(
            "DELETE",
            &format!("/v1/teams/{spare_id}"),
            &alice,
            Some(json!({"reason": "created by mistake"})),
            &[],
        )
        .await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    let request_id = asked.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Sign out; a governance-admin gets a 403 page on the timeline, recorded.
    navigate_by_click(&client, "nav form button").await;
    client
        .wait()
        .for_element(Locator::Id("token"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    shot(&client, "sign-in").await;
    let admin = named(&["governance-admin"], "Carol Console");
    let admin_id = app.user_id(&admin).await;
    fill(&client, "#token", &admin).await;
    navigate_by_click(&client, "form.stack button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // An admin lands on approvals; the timeline is for superusers.
    assert_eq!(text(&client, "main h1").await, "Approvals");
    goto(&client, &format!("{base}/console/timeline"), &mut seen).await;
    let heading = text(&client, "main h1").await;
    assert!(heading.starts_with("403"), "{heading}");
    seen.extend(requested(&client).await);
    shot(&client, "forbidden").await;
    let denied = app
        .query_column(
            "MATCH (e:AuditLog {userId: $id, operation: 'READ_AUDIT', outcome: 'DENIED'}) \
             RETURN e.route AS route",
            json!({"id": admin_id}),
            "route",
        )
        .await;
    assert!(
        denied.contains(&json!("GET /console/timeline")),
        "the denial is recorded: {denied:?}"
    );

    // An approver signs in, lands on the approvals page, sees the request with what
    // it will change, and approves it with a reason: the team is deleted.
    let approver = named(&["approver"], "Dana Approver");
    goto(&client, &format!("{base}/console/sign-in"), &mut seen).await;
    fill(&client, "#token", &approver).await;
    navigate_by_click(&client, "form.stack button[type=submit]").await;
    let card = format!("article.request[data-request-id=\"{request_id}\"]");
    let found = client
        .wait()
        .for_element(Locator::Css(&card))
        .await
        .unwrap_or_else(|e| panic!("the request is not offered: {e}"));
    let shown = found.text().await.unwrap_or_default();
    assert!(
        shown.contains("DELETE_TEAM") && shown.contains("created by mistake"),
        "{shown}"
    );
    seen.extend(requested(&client).await);
    shot(&client, "approvals").await;
    found
        .find(Locator::Css(
            "form[action$=\"/approve\"] input[name=reason]",
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys("checked: the team has no members")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let approvals_page = element(&client, "html").await;
    found
        .find(Locator::Css("form[action$=\"/approve\"] button"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    replaced(&approvals_page, "approve").await;
    client
        .wait()
        .for_element(Locator::Id("done"))
        .await
        .unwrap_or_else(|e| panic!("no confirmation: {e}"));
    seen.extend(requested(&client).await);
    let held = app
        .send(
            "GET",
            &format!("/v1/change-requests/{request_id}"),
            &superuser,
            None,
            &[],
        )
        .await;
    assert_eq!(held.body["state"], "EXECUTED", "{}", held.body);
    let deleted = app
        .query_column(
            "MATCH (t:Team {id: $id}) RETURN coalesce(t.deleted, false) AS d",
            json!({"id": spare_id}),
            "d",
        )
        .await;
    assert_eq!(deleted, vec![json!(true)], "the approved deletion ran");

    // Nothing but govtrail was ever asked for.
    assert!(!seen.is_empty());
    let outside: Vec<&String> = seen.iter().filter(|u| !u.starts_with(&base)).collect();
    assert!(outside.is_empty(), "outside requests: {outside:?}");
    assert!(
        seen.iter()
            .any(|u| u.ends_with("/console/assets/console.css")),
        "the stylesheet was seen, so resources are listed: {seen:?}"
    );
    client.close().await.unwrap_or_else(|e| panic!("{e}"));
}
