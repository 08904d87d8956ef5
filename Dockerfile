# govtrail container image.
#
#   docker build -t govtrail .
#   docker run --rm -p 8080:8080 -e GOVTRAIL_NEO4J_URI=bolt://db:7687 ... govtrail
#
# Stage 1 builds the release binary; stage 2 is a slim Debian runtime with only the
# binary, CA certificates and curl (for the health check), running as a non-root user.

# ---- build ------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /build

# Dependency cache: build the dependencies against placeholder sources, so that a change
# under src/ or cypher/ does not rebuild every crate.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. cypher/ must be here: the binary embeds its files with include_str!.
COPY src ./src
COPY cypher ./cypher
# Make sure cargo rebuilds the crate itself rather than reusing the placeholder.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/govtrail /usr/local/bin/govtrail

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 govtrail \
    && useradd --system --uid 10001 --gid govtrail --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin govtrail

COPY --from=build /usr/local/bin/govtrail /usr/local/bin/govtrail

USER govtrail:govtrail

# Listen on every interface inside the container (the built-in default is 127.0.0.1).
ENV GOVTRAIL_LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080

# Liveness: the process answers HTTP. docker-compose.yml overrides this with /readyz
# (Neo4j reachable and schema current). Both assume the port of GOVTRAIL_LISTEN_ADDR.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["govtrail"]
CMD ["serve"]
