#!/usr/bin/env bash
# Checks (and on Debian, installs) what govtrail's scripts need: cargo with rustfmt and
# clippy, a Java 17+ runtime and Maven for the embedded development Neo4j, and curl
# and jq for the API documentation's examples.
set -euo pipefail

log() { printf 'prereqs: %s\n' "$*" >&2; }
missing=()
command -v cargo >/dev/null || { log "cargo not found: install Rust (rust-version in Cargo.toml) first"; exit 1; }
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
# The API docs' examples (run by the test suite) use curl and jq.
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
# dev/run makes a development checkpoint signing key with openssl.
command -v openssl >/dev/null || missing+=(openssl)
if (( ${#missing[@]} )); then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    log "missing: ${missing[*]} (install them, then run again)"
    exit 1
  fi
fi
java_major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
if [[ -z $java_major || ${java_major%%.*} -lt 17 ]]; then
  log "Java 17 or newer is required for Neo4j 5.26 (found: ${java_major:-unknown})"
  exit 1
fi
