#!/usr/bin/env bash
# Checks (and on Debian, installs) what govtrail's scripts need: cargo with rustfmt and
# clippy, a Java 17+ runtime and Maven for the embedded development Neo4j, curl and jq
# for the API documentation's examples, Python 3 with the `cryptography` package
# for the standalone packet verifier (tools/verify_export.py) the tests run, and (with
# --test) Chromium and chromedriver for the console's browser tests.
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
command -v python3 >/dev/null || missing+=(python3 python3-venv python3-pip)
# The console's browser tests drive Debian's Chromium through chromedriver.
if [[ ${1:-} == --test ]]; then
  { command -v chromium >/dev/null && command -v chromedriver >/dev/null; } \
    || missing+=(chromium chromium-driver)
fi
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
# Python packages: `cryptography` for the standalone verifier (tools/verify_export.py),
# `openapi-spec-validator` (an independent check of the served OpenAPI document) and
# `schemathesis` (the schema-driven fuzz pass of dev/test), in whichever python3 is on PATH.
pip_install() {
  python3 -m pip install --quiet "$@" >&2 \
    || python3 -m pip install --quiet --break-system-packages "$@" >&2
}
if ! python3 -c 'import cryptography' 2>/dev/null; then
  log "installing the Python package cryptography for tools/verify_export.py"
  if ! pip_install cryptography \
      && ! { command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] \
             && apt-get update -qq >&2 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-cryptography >&2 \
             && python3 -c 'import cryptography'; }; then
    log "cannot install the Python package cryptography (pip install cryptography)"
    exit 1
  fi
fi
if [[ ${1:-} == --test ]]; then
  if ! python3 -c 'import openapi_spec_validator, schemathesis.cli' 2>/dev/null; then
    log "installing the Python packages openapi-spec-validator and schemathesis for the tests"
    if ! pip_install openapi-spec-validator schemathesis; then
      log "cannot install openapi-spec-validator and schemathesis (pip install openapi-spec-validator schemathesis)"
      exit 1
    fi
  fi
fi
