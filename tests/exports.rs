//! Audit streams: JSON lines and CSV, only for superusers, each export recorded as an
//! EXPORT entry naming the exporter; the CSV round-trips through Python's csv module.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::{TestApp, token_for};
use serde_json::{Value, json};

async fn team_with_history(app: &TestApp) -> (String, Vec<String>) {
    let (_, admin) = token_for(&["governance-admin"]);
    let r = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(
                json!({"name": format!("export, \"team\" {}", uuid::Uuid::new_v4()),
                        "reason": "commas, \"quotes\" and\nnewlines"}),
            ),
            &[],
        )
        .await;
    let team = r.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut ids = vec![r.body["auditLogId"].as_str().unwrap_or_default().to_owned()];
    app.users(&["x1".to_owned(), "x2".to_owned()]).await;
    for user in ["x1", "x2"] {
        let r = app
            .send(
                "PUT",
                &format!("/v1/teams/{team}/members/{user}"),
                &admin,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        ids.push(r.body["auditLogId"].as_str().unwrap_or_default().to_owned());
    }
    (team, ids)
}

#[tokio::test]
async fn exports_stream_jsonl_and_csv_that_round_trips_through_python() {
    let app = TestApp::spawn().await;
    let (team, ids) = team_with_history(&app).await;
    let (su_sub, su) = app.caller(&["superuser"]).await;

    let jsonl = app
        .http
        .get(app.url(&format!("/v1/exports/audit?entityId={team}")))
        .bearer_auth(&su)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jsonl.status(), 200);
    assert_eq!(jsonl.headers()["content-type"], "application/x-ndjson");
    let text = jsonl.text().await.unwrap_or_default();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    let got: Vec<&str> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        got,
        ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "oldest first"
    );

    let csv = app
        .http
        .get(app.url(&format!("/v1/exports/audit?format=csv&entityId={team}")))
        .bearer_auth(&su)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .await
        .unwrap_or_default();
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys\nrows = list(csv.DictReader(sys.stdin))\nprint(json.dumps(rows))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    python
        .stdin
        .take()
        .unwrap_or_else(|| panic!("stdin"))
        .write_all(&csv)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = python.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(rows.len(), 3, "{}", String::from_utf8_lossy(&csv));
    for (row, line) in rows.iter().zip(&lines) {
        for field in [
            "id",
            "operation",
            "entityLabel",
            "reason",
            "hash",
            "changes",
        ] {
            let want = match &line[field] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            assert_eq!(
                row[field],
                json!(want),
                "{field} survives the CSV round trip"
            );
        }
    }

    let recorded = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPORT', userId: $u})-[:PERFORMED_BY]->(:User {id: $u}) \
             RETURN e.changes AS n",
            json!({"u": su_sub}),
            "n",
        )
        .await;
    assert_eq!(recorded.len(), 2, "each export is recorded: {recorded:?}");
    assert!(recorded.iter().any(|c| {
        c.as_str()
            .is_some_and(|c| c.contains("csv") && c.contains(&team))
    }));
}

#[tokio::test]
async fn only_superusers_export_and_bad_parameters_are_refused() {
    let app = TestApp::spawn().await;
    let (admin_sub, admin) = app.caller(&["governance-admin"]).await;
    let r = app
        .send("GET", "/v1/exports/audit", &admin, None, &[])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let denied = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPORT', userId: $u}) RETURN e.outcome AS n",
            json!({"u": admin_sub}),
            "n",
        )
        .await;
    assert_eq!(denied, vec![json!("DENIED")]);
    let (_, su) = token_for(&["superuser"]);
    for (query, field) in [
        ("format=xml", "format"),
        ("limit=5", "limit"),
        ("from=soon", "from"),
    ] {
        let r = app
            .send("GET", &format!("/v1/exports/audit?{query}"), &su, None, &[])
            .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field);
    }
}

/// The stream, read with pages smaller than the history, hands over every entry once,
/// oldest first, across page boundaries; an export that matches nothing is still a
/// CSV with its header row.
#[tokio::test]
async fn exports_read_across_pages_and_an_empty_csv_keeps_its_header() {
    use futures_util::StreamExt as _;
    use govtrail::export::{CSV_COLUMNS, Format, stream};
    use govtrail::history::Filters;

    async fn collect(app: &TestApp, filters: Filters, format: Format) -> String {
        let chunks: Vec<_> = stream(app.state.store.clone(), filters, format, 2)
            .collect()
            .await;
        chunks
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap_or_else(|e| panic!("{e}")).to_vec()))
            .collect::<Result<String, _>>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    let app = TestApp::spawn().await;
    let (team, ids) = team_with_history(&app).await;
    let filters = Filters {
        entity_id: Some(team),
        ..Filters::default()
    };
    let jsonl = collect(&app, filters, Format::Jsonl).await;
    let exported: Vec<String> = jsonl
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
            entry["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(exported, ids, "{jsonl}");

    let nothing = Filters {
        entity_id: Some(uuid::Uuid::new_v4().to_string()),
        ..Filters::default()
    };
    let csv = collect(&app, nothing, Format::Csv).await;
    assert_eq!(csv, format!("{}\n", CSV_COLUMNS.join(",")));
}

/// A client that goes away mid-export stops the reading: the reader's next page finds
/// no taker, it reads no further, and the log says how the export ended (with the
/// entries handed over, and nothing else about them).
#[tokio::test]
async fn an_export_whose_client_goes_away_stops_reading_and_says_so() {
    use futures_util::StreamExt as _;
    use govtrail::export::{Format, stream};
    use govtrail::history::Filters;

    /// The log lines of this test's thread (the runtime is single-threaded, so the
    /// server's tasks and the export's reader write here too).
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut lines) = self.0.lock() {
                lines.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Lines {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|lines| String::from_utf8_lossy(&lines).into_owned())
                .unwrap_or_default()
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );

    let app = TestApp::spawn().await;
    let (team, _) = team_with_history(&app).await; // three entries
    let filters = Filters {
        entity_id: Some(team),
        ..Filters::default()
    };
    // One entry a page: the first is taken, at most the second waits in the channel,
    // so the third finds the stream gone.
    let mut chunks = Box::pin(stream(app.state.store.clone(), filters, Format::Jsonl, 1));
    let first = chunks.next().await;
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    drop(chunks);

    let stopped = "audit export stopped: the client went away";
    common::until(
        "the reader stops and says so",
        std::time::Duration::from_secs(60),
        async || lines.text().contains(stopped),
    )
    .await;
    let line = lines
        .text()
        .lines()
        .find(|line| line.contains(stopped))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        line.contains("entries=1") || line.contains("entries=2"),
        "{line}"
    );
    assert!(
        !lines.text().contains("read to the end"),
        "{}",
        lines.text()
    );
}
