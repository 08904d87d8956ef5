//! The SBOM scenario: ingest of a generated CycloneDX 1.6 document of `components`
//! components through HTTP (with the server's peak resident memory during it), the
//! re-ingest of the same document, an ingest that changes a tenth of the components,
//! and the evaluation of the system it describes.

use std::time::Instant;

use govtrail::domain::{Role, Source};
use serde_json::{Value, json};

use crate::env::{Server, token, token_from};
use crate::load::sequential;

const LICENSES: [&str; 6] = [
    "MIT",
    "Apache-2.0",
    "MIT OR Apache-2.0",
    "BSD-3-Clause",
    "Apache-2.0 WITH LLVM-exception",
    "ISC",
];

/// A CycloneDX 1.6 document of `n` npm components, each with a license, a SHA-256,
/// a VCS reference and a dependency on its parent in a binary tree; `generation`
/// changes the version of every tenth component.
fn document(n: usize, generation: u32) -> Vec<u8> {
    let version = |i: usize| {
        let patch = if i.is_multiple_of(10) { generation } else { 0 };
        format!("{}.{}.{patch}", 1 + i % 7, i % 13)
    };
    let purl = |i: usize| format!("pkg:npm/bench-sbom-{i}@{}", version(i));
    let components: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "type": "library", "bom-ref": purl(i), "name": format!("bench-sbom-{i}"),
                "version": version(i), "purl": purl(i),
                "licenses": [{"expression": LICENSES[i % LICENSES.len()]}],
                "hashes": [{"alg": "SHA-256", "content": format!("{:064x}", i * 7919 + 1)}],
                "externalReferences": [{"type": "vcs", "url": format!("https://git.example/bench-sbom-{i}")}]
            })
        })
        .collect();
    let dependencies: Vec<Value> = (0..n)
        .map(|i| {
            let children: Vec<String> = [2 * i + 1, 2 * i + 2]
                .into_iter()
                .filter(|c| *c < n)
                .map(purl)
                .collect();
            json!({"ref": purl(i), "dependsOn": children})
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "components": components, "dependencies": dependencies
    })
    .to_string()
    .into_bytes()
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(Value, f64), String> {
    let start = Instant::now();
    let response = http
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/vnd.cyclonedx+json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let receipt: Value = response.json().await.map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    if !status.is_success() {
        return Err(format!("ingest: {status} {receipt}"));
    }
    Ok((receipt, seconds))
}

/// Runs the scenario against `server` at `base`.
pub async fn run(
    http: &reqwest::Client,
    base: &str,
    server: &Server,
    components: usize,
    requests: usize,
) -> Result<Value, String> {
    eprintln!("bench: SBOM ingest of {components} components ...");
    let admin = token("bench-sbom-admin", Role::GovernanceAdmin)?;
    let pipeline = token_from("bench-sbom-pipeline", Role::Integration, Some(Source::Sbom))?;
    let created = |path: &'static str, body: Value| {
        let admin = admin.clone();
        async move {
            let r: Value = http
                .post(format!("{base}{path}"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            r["entity"]["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{path}: {r}"))
        }
    };
    let tag = &uuid::Uuid::new_v4().to_string()[..8];
    let team = created("/v1/teams", json!({"name": format!("bench sbom {tag}")})).await?;
    let system = created(
        "/v1/systems",
        json!({"name": format!("bench sbom {tag}"), "ownerTeamId": team}),
    )
    .await?;
    // Some components are governed technologies, so evaluation matches and judges them.
    for i in 0..20 {
        created(
            "/v1/technologies",
            json!({"name": format!("bench-sbom-{}", i * (components / 20).max(1))}),
        )
        .await?;
    }
    let url = format!("{base}/v1/systems/{system}/sboms");
    let first = document(components, 0);
    let bytes = first.len();
    let (idle_kib, _) = server.memory_kib();
    server.reset_peak();
    let (receipt, ingest_seconds) = post(http, &url, &pipeline, first.clone()).await?;
    let (_, peak_kib) = server.memory_kib();
    if receipt["counts"]["components"] != components {
        return Err(format!("ingest stored {}", receipt["counts"]));
    }
    let (again, reingest_seconds) = post(http, &url, &pipeline, first).await?;
    if again["alreadyCurrent"] != true {
        return Err(format!("re-ingest was not a no-op: {again}"));
    }
    let (changed, changed_seconds) = post(http, &url, &pipeline, document(components, 1)).await?;
    let path = format!("{base}/v1/systems/{system}/compliance");
    let evaluation = sequential(requests.clamp(3, 10), |_| async {
        let page: Value = http
            .get(&path)
            .bearer_auth(&admin)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match page["components"].as_array() {
            Some(c) if c.len() == components => Ok(()),
            _ => Err(format!("evaluation: {}", page["summary"])),
        }
    })
    .await;
    let mib = |kib: u64| kib as f64 / 1024.0;
    Ok(json!({
        "components": components,
        "documentBytes": bytes,
        "ingestSeconds": ingest_seconds,
        "idleRssMiB": mib(idle_kib),
        "peakRssMiB": mib(peak_kib),
        "counts": receipt["counts"],
        "summary": receipt["evaluation"],
        "reingestSeconds": reingest_seconds,
        "changedIngestSeconds": changed_seconds,
        "changedCounts": changed["counts"],
        "evaluation": evaluation,
    }))
}
