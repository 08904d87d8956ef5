//! SBOM ingest and compliance evaluation over HTTP on the real Neo4j: documents made by
//! real SBOM tools are stored as a system's current component set without any audit
//! entry; verdicts follow the license decisions, the whitelist, and the owning team's
//! constraints and approvals, each citing the entry behind it.

#![expect(
    clippy::too_many_lines,
    reason = "each test is one workflow, read top to bottom"
)]

mod common;

use common::{Reply, TestApp, unique};
use serde_json::{Value, json};

/// The whitelist and license decisions are global: one test at a time changes them.
static GLOBAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn id(reply: &Reply) -> String {
    reply.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> Reply {
    let r = app.send(method, path, token, Some(body), &[]).await;
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
    r
}

async fn upload(
    app: &TestApp,
    token: &str,
    system: &str,
    media: &str,
    body: &[u8],
) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/v1/systems/{system}/sboms")))
        .bearer_auth(token)
        .header("Content-Type", media)
        .body(body.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn system(app: &TestApp, admin: &str, owner: Option<&str>) -> String {
    id(&call(
        app,
        admin,
        "POST",
        "/v1/systems",
        json!({"name": unique("sbom system"), "ownerTeamId": owner}),
    )
    .await)
}

async fn audit_state(app: &TestApp, system: &str) -> Vec<Value> {
    app.query_column(
        "MATCH (s:System {id: $id}) RETURN [s.auditHead, s.version, \
         COUNT { (:AuditLog)-[:AUDITS]->(s) }, \
         COUNT { (:AuditLog)-[:AUDITS]->(x) WHERE x:Sbom OR x:Component }] AS n",
        json!({"id": system}),
        "n",
    )
    .await
}

#[tokio::test]
async fn documents_from_real_tools_are_stored_without_an_audit_entry() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, sbom) = common::token_for_source(&["integration"], "SBOM");
    let (_, reader) = app.caller(&["approver"]).await;
    for (file, media, format, count) in [
        (
            "cyclonedx-npm.json",
            "application/vnd.cyclonedx+json",
            "CycloneDX",
            10,
        ),
        ("cargo-cyclonedx.json", "application/json", "CycloneDX", 8),
        ("spdx-python.json", "application/spdx+json", "SPDX", 8),
    ] {
        let bytes = std::fs::read(format!("tests/fixtures/sbom/{file}"))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let sys = system(&app, &admin, None).await;
        let before = audit_state(&app, &sys).await;
        let (status, receipt) = upload(&app, &sbom, &sys, media, &bytes).await;
        assert_eq!(status, 200, "{file}: {receipt}");
        assert_eq!(receipt["sbom"]["format"], format, "{file}");
        assert_eq!(receipt["counts"]["components"], count, "{file}: {receipt}");
        assert_eq!(receipt["alreadyCurrent"], false);
        assert_eq!(
            receipt["sbom"]["digest"],
            json!(govtrail::sbom::ingest::digest(&bytes))
        );
        // The same document again changes nothing.
        let (status, again) = upload(&app, &sbom, &sys, media, &bytes).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["alreadyCurrent"], true);
        assert_eq!(again["sbom"]["id"], receipt["sbom"]["id"]);
        // No entry, no chain head moved, no version bumped.
        assert_eq!(audit_state(&app, &sys).await, before, "{file}");
        let stored = app
            .query_column(
                "MATCH (:Sbom {id: $id})-[:CONTAINS]->(c:Component) RETURN count(c) AS n",
                json!({"id": receipt["sbom"]["id"]}),
                "n",
            )
            .await;
        assert_eq!(stored, vec![json!(count)], "{file}");
        let compliance = app
            .send(
                "GET",
                &format!("/v1/systems/{sys}/compliance"),
                &reader,
                None,
                &[],
            )
            .await;
        assert_eq!(compliance.status, 200, "{}", compliance.body);
        assert_eq!(compliance.body["summary"]["components"], count);
    }
    let zero = app
        .query_column(
            "MATCH (e:AuditLog)-[:AUDITS]->(x) WHERE x:Sbom OR x:Component RETURN count(e) AS n",
            json!({}),
            "n",
        )
        .await;
    assert_eq!(zero, vec![json!(0)]);
}

#[tokio::test]
async fn bad_documents_and_wrong_callers_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, approver) = app.caller(&["approver"]).await;
    let sys = system(&app, &admin, None).await;
    let json = "application/json";
    let cases: [(&str, &[u8], u16); 5] = [
        (json, b"{not json", 400),
        (
            json,
            br#"{"bomFormat":"CycloneDX","specVersion":"1.2"}"#,
            422,
        ),
        (json, br#"{"hello":"world"}"#, 422),
        (
            json,
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":3}]}"#,
            422,
        ),
        (
            "text/plain",
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#,
            415,
        ),
    ];
    for (media, body, want) in cases {
        let (status, problem) = upload(&app, &admin, &sys, media, body).await;
        assert_eq!(status, want, "{problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:govtrail:problem:"))
        );
    }
    let (_, problem) = upload(
        &app,
        &admin,
        &sys,
        json,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"a"},{"name":3}]}"#,
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "/components/1/name",
        "{problem}"
    );
    let valid = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#;
    let (status, _) = upload(&app, &approver, &sys, json, valid).await;
    assert_eq!(status, 403);
    let (_, plain_integration) = common::token_for(&["integration"]);
    let (status, _) = upload(&app, &plain_integration, &sys, json, valid).await;
    assert_eq!(status, 403, "an integration without source SBOM");
    let (status, _) = upload(&app, &admin, &uuid::Uuid::new_v4().to_string(), json, valid).await;
    assert_eq!(status, 404);
    let stored = app
        .query_column(
            "MATCH (:Sbom)-[:DESCRIBES]->(:System {id: $id}) RETURN count(*) AS n",
            json!({"id": sys}),
            "n",
        )
        .await;
    assert_eq!(stored, vec![json!(0)]);
}

/// The verdict of the component with `key` in a compliance answer.
fn verdict<'a>(compliance: &'a Value, key: &str) -> &'a Value {
    compliance["components"]
        .as_array()
        .and_then(|c| c.iter().find(|v| v["key"] == key))
        .unwrap_or_else(|| panic!("{key} not in {compliance}"))
}

fn cites(verdict: &Value, entry: &str) -> bool {
    verdict["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["auditLogId"] == entry)
}

#[tokio::test]
async fn verdicts_follow_the_decisions_in_force_and_cite_their_entries() {
    let _turn = GLOBAL.lock().await;
    let app = TestApp::spawn().await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, sbom) = common::token_for_source(&["integration"], "SBOM");
    let (_, reader) = app.caller(&["approver"]).await;
    let entry = |r: &Reply| r.body["auditLogId"].as_str().unwrap_or_default().to_owned();
    let decide = async |spdx: &str, verb: &str| {
        let r = app
            .send(
                "POST",
                &format!("/v1/licenses/{spdx}/{verb}"),
                &admin,
                Some(json!({"reason": "license review"})),
                &[],
            )
            .await;
        assert!(r.status < 300, "{verb} {spdx}: {}", r.body);
        r
    };
    let whitelist = async |verb: &str| {
        let r = app
            .send(
                "POST",
                &format!("/v1/license-policy/whitelist/{verb}"),
                &admin,
                Some(json!({"reason": "policy review"})),
                &[],
            )
            .await;
        assert!(r.status < 300, "{verb}: {}", r.body);
        r
    };
    whitelist("disable").await;
    decide("MIT", "allow").await;
    decide("Apache-2.0", "allow").await;
    // Each decision the test cites is made fresh (the other way first), so it has an entry.
    decide("GPL-3.0-only", "allow").await;
    let gpl = entry(&decide("GPL-3.0-only", "deny").await);
    decide("0BSD", "deny").await;
    let zero_bsd = entry(&decide("0BSD", "allow").await);

    let team = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("sbom owners")}),
    )
    .await);
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let constrained = format!("constrained-{tag}");
    let eliminated = format!("eliminated-{tag}");
    let tech = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/technologies",
        json!({"name": constrained}),
    )
    .await);
    let tech2 = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/technologies",
        json!({"name": eliminated}),
    )
    .await);
    let vc = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/version-constraints",
        json!({"technologyId": tech, "range": "^2"}),
    )
    .await);
    let activated = entry(
        &call(
            &app,
            &admin,
            "POST",
            &format!("/v1/version-constraints/{vc}/activate"),
            json!({}),
        )
        .await,
    );
    call(
        &app,
        &admin,
        "PUT",
        &format!("/v1/version-constraints/{vc}/teams/{team}"),
        json!({}),
    )
    .await;
    let time = entry(
        &call(
            &app,
            &admin,
            "PUT",
            &format!("/v1/teams/{team}/technologies/{tech2}/time-category"),
            json!({"category": "ELIMINATE"}),
        )
        .await,
    );
    let sys = system(&app, &admin, Some(&team)).await;

    let component = |name: &str, version: &str, license: &str| {
        json!({"type": "library", "name": name, "version": version,
               "purl": format!("pkg:npm/{name}@{version}"),
               "licenses": [{"expression": license}]})
    };
    let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        component("either", "1.0.0", "MIT OR GPL-3.0-only"),
        component("both", "1.0.0", "MIT AND GPL-3.0-only"),
        component("llvm", "1.0.0", "Apache-2.0 WITH LLVM-exception"),
        component("unknown", "1.0.0", "NOASSERTION"),
        component("undecided", "1.0.0", "Glulxe"),
        component("tiny", "1.0.0", "0BSD"),
        component(&constrained, "1.2.3", "MIT"),
        component(&eliminated, "1.0.0", "MIT"),
    ]});
    let (status, receipt) = upload(
        &app,
        &sbom,
        &sys,
        "application/json",
        doc.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["counts"]["unmatched"], 6, "{receipt}");
    assert_eq!(receipt["evaluation"]["violation"], 3, "{receipt}");
    let evaluate = async || {
        let r = app
            .send(
                "GET",
                &format!("/v1/systems/{sys}/compliance"),
                &reader,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    let c = evaluate().await;
    let key = |name: &str, version: &str| format!("pkg:npm/{name}@{version}");
    let either = verdict(&c, &key("either", "1.0.0"));
    assert_eq!(either["verdict"], "allowed", "{either}");
    assert_eq!(either["licenseChoice"], json!(["MIT"]), "{either}");
    let both = verdict(&c, &key("both", "1.0.0"));
    assert_eq!(both["verdict"], "violation", "{both}");
    assert!(cites(both, &gpl), "{both}");
    assert_eq!(verdict(&c, &key("llvm", "1.0.0"))["verdict"], "allowed");
    assert_eq!(
        verdict(&c, &key("unknown", "1.0.0"))["verdict"],
        "needs-review"
    );
    assert_eq!(
        verdict(&c, &key("undecided", "1.0.0"))["verdict"],
        "allowed",
        "whitelist off"
    );
    let tiny = verdict(&c, &key("tiny", "1.0.0"));
    assert!(cites(tiny, &zero_bsd), "{tiny}");
    let out_of_range = verdict(&c, &key(&constrained, "1.2.3"));
    assert_eq!(out_of_range["verdict"], "violation", "{out_of_range}");
    assert_eq!(out_of_range["technology"]["id"], json!(tech));
    assert!(
        cites(out_of_range, &activated),
        "cites the ACTIVATE entry: {out_of_range}"
    );
    let eliminate = verdict(&c, &key(&eliminated, "1.0.0"));
    assert_eq!(eliminate["verdict"], "violation", "{eliminate}");
    assert!(
        cites(eliminate, &time),
        "cites the TIME decision: {eliminate}"
    );
    assert!(c["policyVersion"].as_str().is_some_and(|v| !v.is_empty()));

    // The whitelist on: an undecided license fails, citing the switch.
    let on = entry(&whitelist("enable").await);
    let c = evaluate().await;
    let undecided = verdict(&c, &key("undecided", "1.0.0"));
    assert_eq!(undecided["verdict"], "violation", "{undecided}");
    assert!(cites(undecided, &on), "{undecided}");
    whitelist("disable").await;

    // Denying a license in use flips the next verdict, citing the new entry.
    let denied = entry(&decide("0BSD", "deny").await);
    let c = evaluate().await;
    let tiny = verdict(&c, &key("tiny", "1.0.0"));
    assert_eq!(tiny["verdict"], "violation", "{tiny}");
    assert!(cites(tiny, &denied), "{tiny}");
    decide("0BSD", "allow").await;
}

/// A CycloneDX 1.6 document listing `purls` (each with the MIT license).
fn cyclonedx(purls: &[String]) -> Vec<u8> {
    let components: Vec<Value> = purls
        .iter()
        .map(|p| {
            let name = p.rsplit('/').next().and_then(|n| n.split('@').next());
            json!({"type": "library", "name": name, "purl": p,
                   "licenses": [{"license": {"id": "MIT"}}]})
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn usage_answers_which_live_systems_use_which_versions_by_the_matching_rule() {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let padkit = format!("padkit-{tag}");
    let typings = format!("Pad Typings {tag}");
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings
        .sbom_technology_aliases
        .insert(format!("npm/@padtypes-{tag}/core"), typings.clone());
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, sbom) = common::token_for_source(&["integration"], "SBOM");
    let (_, reader) = app.caller(&["approver"]).await;
    let new_tech = async |name: &str| {
        id(&call(
            &app,
            &admin,
            "POST",
            "/v1/technologies",
            json!({"name": name}),
        )
        .await)
    };
    let tech = new_tech(&padkit).await;
    let typed = new_tech(&typings).await;
    let team = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("usage owners")}),
    )
    .await);
    let first = system(&app, &admin, Some(&team)).await;
    let second = system(&app, &admin, None).await;
    let retired = system(&app, &admin, None).await;
    let purl = |v: &str| format!("pkg:npm/{padkit}@{v}");
    let json = "application/json";
    let send = async |sys: &str, purls: &[String]| {
        let (status, receipt) = upload(&app, &sbom, sys, json, &cyclonedx(purls)).await;
        assert_eq!(status, 200, "{receipt}");
    };
    send(
        &first,
        &[
            purl("1.10.0"),
            purl("1.9.0"),
            format!("pkg:npm/%40padtypes-{tag}/core@2.0.0"),
        ],
    )
    .await;
    // Only the current SBOM counts: 0.1.0 was replaced.
    send(&second, &[purl("0.1.0")]).await;
    send(
        &second,
        &[purl("1.9.0"), format!("pkg:npm/other-{tag}@1.0.0")],
    )
    .await;
    // A retired system uses nothing.
    send(&retired, &[purl("3.0.0")]).await;
    call(
        &app,
        &admin,
        "POST",
        &format!("/v1/systems/{retired}/retire"),
        json!({"reason": "decommissioned", "acknowledged": ["data-disposed", "dependents-informed", "history-retained"]}),
    )
    .await;

    let usage = app
        .send(
            "GET",
            &format!("/v1/technologies/{tech}/usage"),
            &reader,
            None,
            &[],
        )
        .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body["name"], json!(padkit));
    let mut systems: Vec<&str> = usage.body["systems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["systemId"].as_str())
        .collect();
    systems.sort_unstable();
    let mut want = vec![first.as_str(), second.as_str()];
    want.sort_unstable();
    assert_eq!(systems, want, "{}", usage.body);
    let versions: Vec<(Value, usize)> = usage.body["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let n = v["systemIds"].as_array().map_or(0, Vec::len);
            (v["version"].clone(), n)
        })
        .collect();
    assert_eq!(
        versions,
        [(json!("1.9.0"), 2), (json!("1.10.0"), 1)],
        "{}",
        usage.body
    );
    let owned = usage.body["systems"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["systemId"] == first.as_str()))
        .map(|s| s["ownerTeamId"].clone());
    assert_eq!(owned, Some(json!(team)));

    // The alias table maps the scoped package to its technology, in usage and
    // compliance alike.
    let aliased = app
        .send(
            "GET",
            &format!("/v1/technologies/{typed}/usage"),
            &reader,
            None,
            &[],
        )
        .await;
    assert_eq!(aliased.status, 200, "{}", aliased.body);
    assert_eq!(aliased.body["systems"][0]["systemId"], json!(first));
    assert_eq!(aliased.body["versions"][0]["version"], "2.0.0");
    let compliance = app
        .send(
            "GET",
            &format!("/v1/systems/{first}/compliance"),
            &reader,
            None,
            &[],
        )
        .await;
    let scoped = verdict(
        &compliance.body,
        &format!("pkg:npm/%40padtypes-{tag}/core@2.0.0"),
    );
    assert_eq!(scoped["technology"]["id"], json!(typed), "{scoped}");

    let missing = app
        .send(
            "GET",
            &format!("/v1/technologies/{}/usage", uuid::Uuid::new_v4()),
            &reader,
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    let bad = app
        .send(
            "GET",
            "/v1/technologies/not-an-id/usage",
            &reader,
            None,
            &[],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let anonymous = app
        .get(&format!("/v1/technologies/{tech}/usage"), None)
        .await;
    assert_eq!(anonymous.status().as_u16(), 401);
}

/// The SBOMs describing `system`, newest first: `[id, current, components]`.
async fn stored(app: &TestApp, system: &str) -> Vec<Value> {
    app.query_column(
        "MATCH (sb:Sbom)-[:DESCRIBES]->(:System {id: $id}) \
         WITH sb ORDER BY sb.ingestedAt DESC \
         RETURN [sb.id, sb.current, COUNT { (sb)-[:CONTAINS]->() }] AS s",
        json!({"id": system}),
        "s",
    )
    .await
}

async fn components_named(app: &TestApp, prefix: &str) -> usize {
    app.query_column(
        "MATCH (c:Component) WHERE c.key STARTS WITH $prefix RETURN count(c) AS n",
        json!({"prefix": prefix}),
        "n",
    )
    .await
    .first()
    .and_then(Value::as_u64)
    .and_then(|n| usize::try_from(n).ok())
    .unwrap_or_default()
}

#[tokio::test]
async fn size_limit_pruning_concurrent_ingests_and_a_failed_ingest_keep_the_state_whole() {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings.sbom_max_bytes = 4096;
    settings.sbom_keep = 2;
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, sbom) = common::token_for_source(&["integration"], "SBOM");
    let sys = system(&app, &admin, None).await;
    let json = "application/json";
    let doc = |generation: &str, n: usize| -> Vec<u8> {
        let purls: Vec<String> = (0..n)
            .map(|i| format!("pkg:npm/limits-{tag}-{generation}-{i}@1.0.0"))
            .collect();
        cyclonedx(&purls)
    };
    let prefix = |generation: &str| format!("pkg:npm/limits-{tag}-{generation}-");

    // Above the limit: 413, nothing stored.
    let (status, problem) = upload(&app, &sbom, &sys, json, &doc("big", 40)).await;
    assert_eq!(status, 413, "{problem}");
    assert!(stored(&app, &sys).await.is_empty());

    // Three generations with keep = 2: the oldest goes, with the components only it
    // listed.
    let mut ids = Vec::new();
    for generation in ["a", "b", "c"] {
        let (status, receipt) = upload(&app, &sbom, &sys, json, &doc(generation, 3)).await;
        assert_eq!(status, 200, "{receipt}");
        assert_eq!(receipt["counts"]["new"], 3, "{receipt}");
        ids.push(receipt["sbom"]["id"].clone());
    }
    assert_eq!(
        stored(&app, &sys).await,
        [json!([ids[2], true, 3]), json!([ids[1], false, 3])]
    );
    assert_eq!(components_named(&app, &prefix("a")).await, 0);
    assert_eq!(components_named(&app, &prefix("b")).await, 3);

    // A failure after every write leaves the previous state whole.
    let failing = govtrail::sbom::SbomSettings {
        keep: 2,
        aliases: std::collections::BTreeMap::new(),
        policy_version: common::policy_version(),
        fail_before_commit: true,
    };
    let user = app.user_id(&admin).await;
    let failed =
        govtrail::sbom::ingest::ingest(&app.state.store, &failing, &sys, &doc("d", 3), &user).await;
    assert!(failed.is_err(), "the injected failure surfaces");
    assert_eq!(
        stored(&app, &sys).await,
        [json!([ids[2], true, 3]), json!([ids[1], false, 3])],
        "the previous SBOMs, current flag and components are untouched"
    );
    assert_eq!(components_named(&app, &prefix("d")).await, 0);
    assert_eq!(components_named(&app, &prefix("b")).await, 3, "not pruned");

    // Concurrent ingests of one system queue on its lock: both land, one is current.
    let other = system(&app, &admin, None).await;
    let (left, right) = (doc("e", 3), doc("f", 3));
    let ((s1, r1), (s2, r2)) = tokio::join!(
        upload(&app, &sbom, &other, json, &left),
        upload(&app, &sbom, &other, json, &right)
    );
    assert_eq!((s1, s2), (200, 200), "{r1} {r2}");
    let after = stored(&app, &other).await;
    assert_eq!(after.len(), 2, "{after:?}");
    let current: Vec<&Value> = after.iter().filter(|s| s[1] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current SBOM: {after:?}");
    assert_eq!(after[0][1], true, "the later ingest is the current one");
}
