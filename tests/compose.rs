//! The container files agree with the code: `docker-compose.yml` configures govtrail
//! only through settings that exist (loaded here by the real settings loader), both
//! services have health checks and start in order, and the `Dockerfile`, the compose
//! port mapping and `GOVTRAIL_LISTEN_ADDR` name the same port. Needs no Docker and no
//! Neo4j.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use govtrail::config::{LogFormat, Settings};
use secrecy::ExposeSecret;
use serde_norway::Value;

/// Values a developer exports for the interpolations that have no default
/// (`${NAME}`, `${NAME:?message}`).
const EXPORTED: &[(&str, &str)] = &[(
    "GOVTRAIL_AUTH_HS256_SECRET",
    // 40 bytes: above the 32-byte minimum of the HS256 development secret.
    "compose-test-secret-0123456789abcdefghij",
)];

/// Prefix of govtrail's configuration variables.
const PREFIX: &str = "GOVTRAIL_";

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn compose() -> Value {
    serde_norway::from_str(&read("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml is not valid YAML: {e}"))
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service `{name}`"))
}

fn scalar(value: &Value, what: &str) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{what} should be a scalar, found {other:?}"),
    }
}

/// A service's `environment`, in either the mapping or the `NAME=value` list form,
/// with interpolations resolved as `docker compose` would.
fn environment(service: &Value) -> BTreeMap<String, String> {
    let raw: Vec<(String, String)> = match service.get("environment") {
        None => Vec::new(),
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(name, value)| {
                let name = scalar(name, "an environment variable name");
                let value = scalar(value, &format!("the value of {name}"));
                (name, value)
            })
            .collect(),
        Some(Value::Sequence(list)) => list
            .iter()
            .map(|entry| {
                let entry = scalar(entry, "an environment entry");
                let Some((name, value)) = entry.split_once('=') else {
                    panic!("environment entry {entry:?} has no `=value`");
                };
                (name.to_owned(), value.to_owned())
            })
            .collect(),
        Some(other) => panic!("environment should be a mapping or a list, found {other:?}"),
    };
    raw.into_iter()
        .map(|(name, value)| (name, interpolate(&value)))
        .collect()
}

/// Resolves `$$`, `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
/// `${NAME:?message}` and `${NAME?message}`: a default where there is one, otherwise
/// the value in [`EXPORTED`].
fn interpolate(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let Some(end) = braced.find('}') else {
                panic!("unclosed `${{` in {text:?}");
            };
            out.push_str(&resolve(&braced[..end]));
            rest = &braced[end + 1..];
        } else {
            let end = name_length(after);
            assert!(end > 0, "a lone `$` in {text:?} (write `$$`)");
            out.push_str(&resolve(&after[..end]));
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

fn name_length(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

fn resolve(expression: &str) -> String {
    let (name, modifier) = expression.split_at(name_length(expression));
    if let Some(default) = modifier
        .strip_prefix(":-")
        .or_else(|| modifier.strip_prefix('-'))
    {
        return interpolate(default);
    }
    assert!(
        modifier.is_empty() || modifier.starts_with(":?") || modifier.starts_with('?'),
        "unsupported interpolation `${{{expression}}}`"
    );
    let Some((_, value)) = EXPORTED.iter().find(|(exported, _)| *exported == name) else {
        panic!("`${{{expression}}}` has no default; add {name} to EXPORTED");
    };
    (*value).to_owned()
}

/// One Dockerfile instruction: upper-cased keyword and its arguments, continuation
/// lines joined and comments dropped.
struct Instruction {
    keyword: String,
    arguments: String,
}

fn dockerfile() -> Vec<Instruction> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let (keyword, arguments) = pending
            .split_once(char::is_whitespace)
            .unwrap_or((pending.as_str(), ""));
        instructions.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            arguments: arguments.trim().to_owned(),
        });
        pending.clear();
    }
    instructions
}

/// The instructions of the Dockerfile's last stage (the image that runs).
fn final_stage(instructions: &[Instruction]) -> &[Instruction] {
    let Some(from) = instructions.iter().rposition(|i| i.keyword == "FROM") else {
        panic!("the Dockerfile has no FROM");
    };
    &instructions[from + 1..]
}

/// `ENV NAME=value ...` pairs of some instructions (values without spaces or quotes).
fn env_of(stage: &[Instruction]) -> BTreeMap<String, String> {
    stage
        .iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| i.arguments.split_whitespace())
        .map(|pair| {
            let Some((name, value)) = pair.split_once('=') else {
                panic!("write ENV as NAME=value, found {pair:?}");
            };
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

fn port_of(listen_addr: &str, whence: &str) -> u16 {
    listen_addr
        .parse::<SocketAddr>()
        .unwrap_or_else(|e| panic!("{whence} {listen_addr:?} is not host:port: {e}"))
        .port()
}

/// Container ports of a compose service's `ports`, short (`[host:][published:]target[/proto]`)
/// or long (`target:`) syntax.
fn container_ports(service: &Value) -> Vec<u16> {
    let Some(Value::Sequence(ports)) = service.get("ports") else {
        panic!("the service publishes no ports");
    };
    ports
        .iter()
        .map(|port| {
            let target = match port {
                Value::Mapping(_) => {
                    let Some(target) = port.get("target") else {
                        panic!("port {port:?} has no target");
                    };
                    scalar(target, "ports.target")
                }
                other => scalar(other, "a port mapping"),
            };
            let target = target.rsplit(':').next().unwrap_or(&target);
            let target = target.split('/').next().unwrap_or(target);
            target
                .parse()
                .unwrap_or_else(|e| panic!("container port {target:?}: {e}"))
        })
        .collect()
}

/// The `test` of a service's healthcheck as one command line, without `CMD`/`CMD-SHELL`.
fn health_check(service: &Value, name: &str) -> String {
    let Some(test) = service.get("healthcheck").and_then(|h| h.get("test")) else {
        panic!("service `{name}` has no healthcheck test");
    };
    let words: Vec<String> = match test {
        Value::Sequence(words) => words.iter().map(|w| scalar(w, "a test word")).collect(),
        other => vec![scalar(other, "a healthcheck test")],
    };
    let command = match words.first().map(String::as_str) {
        Some("CMD" | "CMD-SHELL") => words[1..].join(" "),
        Some("NONE") | None => panic!("service `{name}` disables its healthcheck"),
        Some(_) => words.join(" "),
    };
    assert!(
        !command.trim().is_empty(),
        "service `{name}` has an empty healthcheck"
    );
    command
}

#[test]
fn compose_runs_neo4j_community_and_govtrail_with_health_checks() {
    let compose = compose();
    let neo4j = service(&compose, "neo4j");
    let govtrail = service(&compose, "govtrail");

    assert_eq!(
        neo4j.get("image").and_then(Value::as_str),
        Some("neo4j:5.26-community")
    );
    assert!(
        health_check(neo4j, "neo4j").contains("RETURN 1"),
        "neo4j's health check should run a Bolt query"
    );
    assert!(
        health_check(govtrail, "govtrail").contains("/readyz"),
        "govtrail's health check should ask /readyz"
    );
    assert!(
        govtrail.get("build").is_some(),
        "govtrail is built from the Dockerfile"
    );
}

#[test]
fn govtrail_starts_only_once_neo4j_is_healthy() {
    let compose = compose();
    let condition = service(&compose, "govtrail")
        .get("depends_on")
        .and_then(|d| d.get("neo4j"))
        .and_then(|n| n.get("condition"))
        .and_then(Value::as_str);
    assert_eq!(condition, Some("service_healthy"));
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail fixes the closure's error type"
)]
fn compose_environment_uses_only_known_settings() {
    let compose = compose();
    let image_env: BTreeMap<String, String> = env_of(final_stage(&dockerfile()))
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .collect();
    let compose_env: BTreeMap<String, String> = environment(service(&compose, "govtrail"))
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .collect();
    assert!(
        compose_env.len() >= 9,
        "compose should configure govtrail, found only {compose_env:?}"
    );
    let neo4j_auth = environment(service(&compose, "neo4j"))
        .remove("NEO4J_AUTH")
        .unwrap_or_else(|| panic!("neo4j has no NEO4J_AUTH"));
    let Some(("neo4j", neo4j_password)) = neo4j_auth.split_once('/') else {
        panic!("NEO4J_AUTH should be neo4j/<password>, found {neo4j_auth:?}");
    };

    figment::Jail::expect_with(|jail| {
        // Exactly what the container sees: the image's ENV, overridden by compose.
        jail.clear_env();
        for (name, value) in image_env.iter().chain(&compose_env) {
            jail.set_env(name, value);
        }
        let settings = Settings::load(None).map_err(|e| e.to_string())?;

        assert_eq!(settings.listen_addr, SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert_eq!(settings.neo4j_uri, "bolt://neo4j:7687");
        assert_eq!(settings.neo4j_user, "neo4j");
        assert_eq!(
            settings.neo4j_password.expose_secret(),
            neo4j_password,
            "govtrail should use the password Neo4j is started with"
        );
        assert_eq!(settings.log_format, LogFormat::Json);
        assert_eq!(settings.log_filter, "info");
        assert_eq!(settings.auth_issuer, "govtrail");
        assert_eq!(settings.auth_audience, "govtrail");
        let secret = settings
            .auth_hs256_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned());
        assert_eq!(secret.as_deref(), Some(EXPORTED[0].1));
        assert!(EXPORTED[0].1.len() >= 32);
        Ok(())
    });
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail fixes the closure's error type"
)]
fn an_unknown_compose_variable_would_be_refused() {
    // The check above is only worth something if a misspelt name fails to load.
    figment::Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("GOVTRAIL_NEO4J_URL", "bolt://neo4j:7687");
        assert!(Settings::load(None).is_err());
        Ok(())
    });
}

#[test]
fn dockerfile_exposes_the_port_compose_publishes_and_govtrail_listens_on() {
    let instructions = dockerfile();
    let runtime = final_stage(&instructions);
    let exposed: Vec<u16> = runtime
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| i.arguments.split_whitespace())
        .map(|port| {
            let port = port.split('/').next().unwrap_or(port);
            port.parse()
                .unwrap_or_else(|e| panic!("EXPOSE {port:?}: {e}"))
        })
        .collect();
    assert_eq!(exposed, [8080], "the runtime stage should expose 8080 only");

    let image_listen = env_of(runtime)
        .remove("GOVTRAIL_LISTEN_ADDR")
        .unwrap_or_else(|| panic!("the runtime stage should set GOVTRAIL_LISTEN_ADDR"));
    assert_eq!(
        port_of(&image_listen, "Dockerfile ENV GOVTRAIL_LISTEN_ADDR"),
        8080
    );

    let compose = compose();
    let govtrail = service(&compose, "govtrail");
    assert_eq!(container_ports(govtrail), [8080]);
    let compose_listen = environment(govtrail)
        .remove("GOVTRAIL_LISTEN_ADDR")
        .unwrap_or_else(|| panic!("compose should set GOVTRAIL_LISTEN_ADDR"));
    assert_eq!(
        port_of(&compose_listen, "compose GOVTRAIL_LISTEN_ADDR"),
        8080
    );

    assert!(
        health_check(govtrail, "govtrail").contains("127.0.0.1:8080/"),
        "the compose health check should ask the port govtrail listens on"
    );
    let image_check = runtime
        .iter()
        .find(|i| i.keyword == "HEALTHCHECK")
        .map(|i| i.arguments.as_str());
    if let Some(check) = image_check {
        assert!(
            check.contains("127.0.0.1:8080/"),
            "the image health check should ask port 8080: {check}"
        );
    }
}

#[test]
fn govtrail_health_checks_use_a_program_installed_in_the_image() {
    let compose = compose();
    let check = health_check(service(&compose, "govtrail"), "govtrail");
    let Some(program) = check.split_whitespace().next() else {
        panic!("empty health check");
    };
    let instructions = dockerfile();
    let installed = final_stage(&instructions)
        .iter()
        .filter(|i| i.keyword == "RUN" && i.arguments.contains("apt-get install"))
        .any(|i| i.arguments.split_whitespace().any(|word| word == program));
    assert!(
        installed,
        "the health check runs `{program}`, which the runtime stage does not install"
    );
}

#[test]
fn docker_build_sees_the_sources_and_the_embedded_cypher_files() {
    let instructions = dockerfile();
    let copies_before_runtime: Vec<&str> = instructions
        .iter()
        .take(instructions.len() - final_stage(&instructions).len())
        .filter(|i| i.keyword == "COPY")
        .map(|i| i.arguments.as_str())
        .collect();
    for needed in ["Cargo.lock", "src", "cypher"] {
        assert!(
            copies_before_runtime.iter().any(|args| args
                .split_whitespace()
                .any(|a| a.trim_end_matches('/') == needed)),
            "the build stage should COPY {needed}"
        );
    }
    for pattern in read(".dockerignore").lines().map(str::trim) {
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
        assert!(
            !["*", "src", "cypher", "Cargo.toml", "Cargo.lock"].contains(&pattern),
            ".dockerignore must not exclude {pattern}"
        );
    }
}
