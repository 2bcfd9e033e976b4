# Berth as a small static image: build with Go, run FROM scratch (no shell, no curl).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/berth ./cmd/berth

FROM scratch
COPY --from=build /out/berth /berth
ENV BERTH_ADDR=:8080 \
    BERTH_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
# The image has no shell: the binary checks its own /healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/berth", "healthcheck"]
ENTRYPOINT ["/berth"]
CMD ["serve"]
