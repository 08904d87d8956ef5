//! Routing and causal consistency against the real Neo4j: a `neo4j://` URI uses
//! neo4rs's routed pool (ROUTE, then transactions on the server the routing table
//! names), a `bolt://` URI talks to its one server, and bookmarks travel between
//! replicas in `Govtrail-Bookmark`.
//!
//! Proof of routing: govtrail reaches Neo4j through a small proxy that records the Bolt
//! messages clients send. Only neo4rs's routed pool sends ROUTE (to fetch the routing
//! table; a standalone Community server answers with the address the client asked for,
//! so the transactions then come through the proxy too). Through `neo4j://PROXY` the
//! proxy sees ROUTE before the governed transaction; through `bolt://PROXY` it sees
//! the transaction and never ROUTE.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{TestApp, neo4j_uri, test_settings, token_for, unique};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Bolt message signatures (the byte after the structure marker).
const ROUTE: u8 = 0x66;
const BEGIN: u8 = 0x11;

/// A TCP relay to Neo4j that records the signature of every Bolt message a client sends.
struct BoltProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl BoltProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        relay(client, server, record).await;
                    }
                });
            }
        });
        Self { addr, seen }
    }

    fn seen(&self) -> Vec<u8> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn relay(client: TcpStream, server: TcpStream, record: Arc<Mutex<Vec<u8>>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async move {
        let mut messages = MessageReader::default();
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let signatures = messages.feed(&buf[..n]);
            if let Ok(mut seen) = record.lock() {
                seen.extend(signatures);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    tokio::join!(up, down);
}

/// Splits the client's byte stream into Bolt messages: a 20-byte handshake, then chunks
/// (a big-endian u16 size and that many bytes), a zero size ending each message.
#[derive(Default)]
struct MessageReader {
    buffered: Vec<u8>,
    handshaken: bool,
    message: Vec<u8>,
}

impl MessageReader {
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.buffered.extend_from_slice(bytes);
        let mut signatures = Vec::new();
        if !self.handshaken {
            if self.buffered.len() < 20 {
                return signatures;
            }
            self.buffered.drain(..20);
            self.handshaken = true;
        }
        while self.buffered.len() >= 2 {
            let size = usize::from(u16::from_be_bytes([self.buffered[0], self.buffered[1]]));
            if size == 0 {
                self.buffered.drain(..2);
                if let Some(&signature) = self.message.get(1) {
                    signatures.push(signature);
                }
                self.message.clear();
                continue;
            }
            if self.buffered.len() < 2 + size {
                break;
            }
            self.message.extend_from_slice(&self.buffered[2..2 + size]);
            self.buffered.drain(..2 + size);
        }
        signatures
    }
}

fn neo4j_addr() -> SocketAddr {
    let uri = neo4j_uri();
    let hostport = uri.split_once("://").map_or(uri.as_str(), |(_, rest)| rest);
    hostport
        .parse()
        .unwrap_or_else(|e| panic!("NEO4J_TEST_URI {uri}: {e}"))
}

async fn create_team(app: &TestApp, token: &str, headers: &[(&str, &str)]) -> common::Reply {
    app.send(
        "POST",
        "/v1/teams",
        token,
        Some(json!({"name": unique("routed team")})),
        headers,
    )
    .await
}

#[tokio::test]
async fn a_neo4j_uri_routes_and_a_bolt_uri_does_not() {
    let proxy = BoltProxy::start(neo4j_addr()).await;
    let routed = TestApp::spawn_with(test_settings(&format!("neo4j://{}", proxy.addr))).await;
    assert!(
        routed.state.store.routed(),
        "neo4j:// builds the routed pool"
    );
    let (_, admin) = token_for(&["governance-admin"]);
    let created = create_team(&routed, &admin, &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let seen = proxy.seen();
    assert!(
        seen.contains(&ROUTE),
        "a neo4j:// pool asks the router for its table: {seen:02x?}"
    );
    let route = seen.iter().position(|&m| m == ROUTE);
    let begin = seen.iter().rposition(|&m| m == BEGIN);
    assert!(
        route < begin,
        "the table is fetched before the governed transaction begins: {seen:02x?}"
    );

    let direct_proxy = BoltProxy::start(neo4j_addr()).await;
    let direct = TestApp::spawn_with(test_settings(&format!("bolt://{}", direct_proxy.addr))).await;
    assert!(!direct.state.store.routed());
    let created = create_team(&direct, &admin, &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let seen = direct_proxy.seen();
    assert!(seen.contains(&BEGIN), "bolt:// runs through its one server");
    assert!(!seen.contains(&ROUTE), "bolt:// never routes: {seen:02x?}");
}

#[tokio::test]
async fn a_write_through_one_replica_is_read_through_another_with_its_bookmark() {
    // Two replicas, one routed and one direct, on the same Neo4j.
    let a = TestApp::spawn_with(test_settings(&neo4j_uri().replace("bolt://", "neo4j://"))).await;
    let b = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (_, superuser) = token_for(&["superuser"]);

    let created = create_team(&a, &admin, &[]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let bookmark = created
        .header("govtrail-bookmark")
        .unwrap_or_else(|| panic!("a committed change returns its bookmark"));
    let team = created.body["entity"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no team id in {}", created.body))
        .to_owned();

    let read = b
        .send(
            "GET",
            &format!("/v1/entities/Team/{team}/state"),
            &superuser,
            None,
            &[("Govtrail-Bookmark", &bookmark)],
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["entityId"], json!(team), "{}", read.body);
    assert_eq!(read.body["entries"], json!(1), "{}", read.body);
    assert!(
        read.header("govtrail-bookmark").is_none(),
        "a read commits nothing, so it returns no bookmark"
    );

    // A write through B that waits for A's bookmark returns a bookmark of its own.
    let changed = b
        .send(
            "PUT",
            &format!("/v1/teams/{team}/responsibility-areas"),
            &admin,
            Some(json!({"responsibilityAreas": ["payments"]})),
            &[("Govtrail-Bookmark", &bookmark)],
        )
        .await;
    assert!(changed.status < 300, "{} {}", changed.status, changed.body);
    let next = changed
        .header("govtrail-bookmark")
        .unwrap_or_else(|| panic!("the second change returns its bookmark"));
    assert_ne!(next, bookmark);
}

#[tokio::test]
async fn bookmarks_reach_neo4j_and_bad_ones_are_refused_with_a_problem() {
    let app = TestApp::spawn().await;
    let (_, superuser) = token_for(&["superuser"]);
    let path = "/v1/audit-logs?limit=1";

    // Neo4j itself judges a well-formed bookmark it never issued.
    let unknown = app
        .send(
            "GET",
            path,
            &superuser,
            None,
            &[("Govtrail-Bookmark", "FB:not-a-bookmark")],
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(
        unknown.body["type"],
        json!("urn:govtrail:problem:invalid-bookmark"),
        "{}",
        unknown.body
    );

    // A malformed one never reaches it.
    let malformed = app
        .send(
            "GET",
            path,
            &superuser,
            None,
            &[("Govtrail-Bookmark", "FB:a b")],
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(
        malformed.body["errors"][0]["field"],
        json!("Govtrail-Bookmark"),
        "{}",
        malformed.body
    );

    let (_, admin) = token_for(&["governance-admin"]);
    let refused = create_team(&app, &admin, &[("Govtrail-Bookmark", "FB:not-a-bookmark")]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}
