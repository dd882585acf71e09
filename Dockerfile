# Custody, built from this repository.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libclang-dev make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# profile.release keeps line tables for profiling; the image needs neither
# them nor symbols (412 MB unstripped). Set for both builds below, so the
# dependency layer is reused by the second.
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=true

# Dependencies in a layer of their own (RocksDB and librdkafka take most of
# the build): manifests, the lock file and stub sources only, so this layer
# is rebuilt when a manifest or Cargo.lock changes, not when code does.
# proto's build script and schema come too: its build dependencies run here.
COPY Cargo.toml Cargo.lock ./
COPY proto/Cargo.toml proto/build.rs proto/
COPY proto/custody proto/custody
COPY policy/Cargo.toml policy/
COPY verify/Cargo.toml verify/
COPY ledger/Cargo.toml ledger/
COPY ingest/Cargo.toml ingest/
COPY query/Cargo.toml query/
COPY testkit/Cargo.toml testkit/
COPY xtask/Cargo.toml xtask/
RUN for crate in proto policy verify ledger ingest query testkit; do \
        mkdir -p $crate/src && touch $crate/src/lib.rs; \
    done \
 && for bin in src verify/src xtask/src; do \
        mkdir -p $bin && echo 'fn main() {}' > $bin/main.rs; \
    done \
 && cargo build --release --locked --bin custody \
 && rm -rf src */src

# The sources. COPY keeps the files' own times, which can be older than the
# stub build: touch them so cargo rebuilds the workspace crates.
COPY . .
RUN find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin custody

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/custody /usr/local/bin/custody
VOLUME /var/lib/custody
EXPOSE 8080
# The image has no curl: `custody health` is the probe (GET /healthz).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["custody", "health", "--http", "http://127.0.0.1:8080"]
ENTRYPOINT ["custody"]
CMD ["serve", "--data", "/var/lib/custody", "--listen", "0.0.0.0:8080"]
