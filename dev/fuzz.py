#!/usr/bin/env python3
"""Schema-driven fuzzing of a real govtrail, run by dev/test.

Starts `govtrail serve` (the debug binary the test command built) on a free port
against the test Neo4j (NEO4J_TEST_URI), with the fixture checkpoint key and a
throw-away sink, as production runs. Then schemathesis (PyPI) generates requests from
the served OpenAPI document, once with a superuser token and once with a
governance-admin token:

- a positive pass (inputs the document allows): every response must be a non-5xx,
  have a status the document declares, and match its declared schema and media type;
  the share of 400/422 answers says how well the document describes what the API
  accepts (target: under 30%, not counting refusals that depend on state rather than
  shape: a cursor from another view, an idempotency key reused with another body);
- a negative pass (inputs the document forbids): no 5xx, and declared statuses only.

`GET /v1/audit/verify` is left out: it takes no parameters and reads the whole log.

Prints the figures (requests, 5xx, share of 400/422) and exits non-zero on any failure
or when the positive share reaches 30%. Options: --examples N per operation (default
12), --keep (leave reports in target/fuzz).
"""

import argparse
import glob
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "debug", "govtrail")
SECRET = "fuzz-only-development-secret-0123456789abcdef"
CHECKS = {
    "positive": "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
    "negative": "not_a_server_error,status_code_conformance",
}
TARGET_SHARE = 0.30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(sub, role):
    env = dict(os.environ, GOVTRAIL_AUTH_HS256_SECRET=SECRET)
    env.pop("GOVTRAIL_CONFIG", None)
    out = subprocess.run(
        [BINARY, "token", "--sub", sub, "--role", role, "--ttl", "3600"],
        env=env, check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


def wait_ready(base, server, deadline):
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz: govtrail exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("fuzz: govtrail did not become ready")


def run_schemathesis(base, bearer, mode, examples, report_dir):
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", base + "/openapi.json",
        "--header", f"Authorization: Bearer {bearer}",
        "--checks", CHECKS[mode],
        "--mode", mode,
        "--max-examples", str(examples),
        "--phases", "examples,coverage,fuzzing",
        # One worker: with two, CPython 3.11's ast.parse (which Hypothesis calls to name
        # its filters) can fail in threads with "SystemError: AST constructor recursion
        # depth mismatch" (python/cpython#106905), a crash of the tool, not a finding.
        "--workers", "1",
        "--seed", "20261201",
        "--generation-database", "none",
        "--request-timeout", "30",
        # A whole-log verification with no parameters: nothing to fuzz, and each call
        # reads every entry (tests/integrity.rs and tests/checkpoints.rs cover it).
        "--exclude-path", "/v1/audit/verify",
        "--report", "har",
        "--report-dir", report_dir,
        "--no-color",
        "--output-truncate", "true",
    ]
    print(f"fuzz: {mode} pass, {examples} examples per operation", file=sys.stderr, flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-20000:], file=sys.stderr)
        print(result.stderr[-5000:], file=sys.stderr)
    return result.returncode


# Refusals that depend on state, not on the request's shape: a cursor taken from
# another view (or made up), and an idempotency key reused with another request. No
# schema can describe them, so they do not count against the document.
STATEFUL_FIELDS = {"cursor", "Idempotency-Key"}


def stateful(entry):
    if entry["response"]["status"] not in (400, 422):
        return False
    try:
        problem = json.loads(entry["response"]["content"].get("text") or "{}")
    except ValueError:
        return False
    errors = problem.get("errors") or []
    return bool(errors) and all(e.get("field") in STATEFUL_FIELDS for e in errors)


def statuses(report_dir):
    out = []
    for path in glob.glob(os.path.join(report_dir, "*.json")):
        with open(path, encoding="utf-8") as f:
            har = json.load(f)
        out.extend((e["response"]["status"], stateful(e)) for e in har["log"]["entries"])
    return out


def figures(name, answers):
    codes = [c for c, _ in answers]
    total = len(codes)
    server = sum(1 for c in codes if c >= 500)
    rejected = sum(1 for c in codes if c in (400, 422))
    by_state = sum(1 for _, s in answers if s)
    share = rejected / total if total else 0.0
    shape_share = (rejected - by_state) / (total - by_state) if total > by_state else 0.0
    by_status = {}
    for c in codes:
        by_status[c] = by_status.get(c, 0) + 1
    print(
        f"fuzz: {name}: {total} requests, {server} answered 5xx, "
        f"{rejected} answered 400/422 ({share:.1%}), {by_state} of them for state "
        f"(a foreign cursor, a reused idempotency key), so {shape_share:.1%} for their shape; "
        f"by status {dict(sorted(by_status.items()))}",
        file=sys.stderr,
    )
    return total, server, shape_share


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=12)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    uri = os.environ.get("NEO4J_TEST_URI")
    if not uri:
        raise SystemExit("fuzz: NEO4J_TEST_URI is not set (dev/test sets it)")
    if importlib.util.find_spec("schemathesis") is None:
        raise SystemExit("fuzz: schemathesis is not installed (pip install schemathesis)")
    work = os.path.join(ROOT, "target", "fuzz") if args.keep else tempfile.mkdtemp(prefix="govtrail-fuzz-")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.pop("GOVTRAIL_CONFIG", None)
    env.update({
        "GOVTRAIL_NEO4J_URI": uri,
        "GOVTRAIL_LISTEN_ADDR": f"127.0.0.1:{port}",
        "GOVTRAIL_AUTH_HS256_SECRET": SECRET,
        "GOVTRAIL_CHECKPOINT_KEY_FILE": os.path.join(ROOT, "tests", "fixtures", "keys", "ed25519-private.pem"),
        "GOVTRAIL_CHECKPOINT_SINK": os.path.join(work, "sink.jsonl"),
        "GOVTRAIL_LOG_FILTER": "error",
        # The fuzzer's own budget bounds the run; keep the server's generous.
        "GOVTRAIL_REQUEST_TIMEOUT_MS": "30000",
    })
    log = open(os.path.join(work, "govtrail.log"), "w", encoding="utf-8")
    server = subprocess.Popen([BINARY, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    failed = False
    try:
        wait_ready(base, server, time.time() + 90)
        started = time.time()
        runs = {}
        for role in ("superuser", "governance-admin"):
            bearer = token(f"fuzz-{role}-{os.getpid()}", role)
            for mode in ("positive", "negative"):
                report = os.path.join(work, f"{role}-{mode}")
                code = run_schemathesis(base, bearer, mode, args.examples, report)
                if code != 0:
                    print(f"fuzz: the {mode} pass as {role} failed", file=sys.stderr)
                    failed = True
                runs.setdefault(mode, []).extend(statuses(report))
        _, server_errors_p, share = figures("positive pass", runs.get("positive", []))
        _, server_errors_n, _ = figures("negative pass", runs.get("negative", []))
        print(f"fuzz: {time.time() - started:.0f} s", file=sys.stderr)
        if server_errors_p or server_errors_n:
            failed = True
        if share >= TARGET_SHARE:
            print(f"fuzz: {share:.1%} of schema-valid requests were refused as 400/422 for their shape (target < {TARGET_SHARE:.0%})", file=sys.stderr)
            failed = True
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if failed:
            with open(os.path.join(work, "govtrail.log"), encoding="utf-8") as f:
                print("fuzz: server log tail:\n" + f.read()[-4000:], file=sys.stderr)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
