# Build: docker build -t signup-gateway .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p gateway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/signup signup \
    && mkdir -p /var/lib/signup/data/media && chown -R signup /var/lib/signup
COPY --from=build /src/target/release/gateway /usr/local/bin/gateway
USER signup
WORKDIR /var/lib/signup
ENV SIGNUP__SERVER__LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/gateway"]
CMD ["serve"]
