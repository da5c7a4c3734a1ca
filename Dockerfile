# syntax=docker/dockerfile:1
# CPMS-FHIR server image: a static binary on a distroless base, run as a
# non-root user, with the embedded store's data in the /data volume.
#
#   docker build -t cpms-fhir .
#   docker run -p 8080:8080 -v cpms-data:/data cpms-fhir

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The embedded store's SQLite driver is pure Go: no cgo, a static binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/cpms . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cpms /cpms
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/cpms"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--data", "/data"]
