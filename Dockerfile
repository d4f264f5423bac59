# syntax=docker/dockerfile:1
# Passerelle: one static binary, run as a non-root user, with its data in
# the /data volume. Build:
#   docker build --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse --short HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t passerelle .
# Run (config mounted read-only; see docker-compose.example.yml):
#   docker run -p 80:80 -p 443:443 -v passerelle-data:/data \
#     -v ./config.yaml:/etc/passerelle/config.yaml:ro passerelle
# The process is not root yet listens on 80 and 443: Docker (20.10 and
# later) lets unprivileged processes bind low ports inside a container.
# deploytest/docker_test.go checks this file and runs the binary it
# builds as the same user.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" -o /out/bridge ./cmd/bridge
# The volume's mount point, owned by the unprivileged user: the only
# writable place in the image.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

# distroless/static: CA certificates, time zones, /etc/passwd with the
# "nonroot" user (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="Passerelle" \
      org.opencontainers.image.description="An institution's own fediverse presence on its own domain" \
      org.opencontainers.image.source="https://github.com/passerelle/passerelle" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/bridge /usr/local/bin/bridge
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 80 443
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/bridge", "--config", "/etc/passerelle/config.yaml", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["--config", "/etc/passerelle/config.yaml", "serve"]
