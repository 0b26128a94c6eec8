# The one image every AIRIS-MON workload runs (istio/: `airis serve <service>`,
# `airis migrate`): the `airis` binary and the built UI, run as UID 65532
# with a read-only root filesystem. Build: docker build -t airis-mon/airis:<tag> .
# The toolchain rust-toolchain.toml pins, and Cargo.toml's rust-version.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
# librdkafka is built from source by rdkafka-sys (make, a C compiler: in
# the rust image); protoc comes from protoc-bin-vendored.
RUN cargo build --locked --release --bin airis \
 && install -D -m 0755 target/release/airis /out/airis

# The UI (web/): its generated client is committed, so Node alone builds it.
FROM node:20.20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM debian:bookworm-slim
# zlib: librdkafka's compression; CA roots: TLS to ClickHouse, Kafka or
# S3 when configured.
RUN apt-get update \
 && apt-get install -y --no-install-recommends zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/share/airis/ui
COPY --from=build /out/airis /usr/local/bin/airis
# What `airis serve ui` ([ui] dir) and the gateway (gateway.ui_dir) serve.
COPY --from=web /src/web/dist /usr/share/airis/ui
USER 65532:65532
ENTRYPOINT ["airis"]
CMD ["--help"]
