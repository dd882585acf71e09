# Custody, built from this repository.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libclang-dev make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin custody

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/custody /usr/local/bin/custody
VOLUME /var/lib/custody
EXPOSE 8080
ENTRYPOINT ["custody"]
CMD ["serve", "--data", "/var/lib/custody", "--listen", "0.0.0.0:8080"]
