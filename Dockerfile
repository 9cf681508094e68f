# icap-dlp: slim runtime image. Build: docker build -t icap-dlp .
# Run:   docker run -p 1344:1344 -p 9344:9344 icap-dlp
# ICAPS: mount a certificate and key and set ICAP_DLP_TLS_CERT / ICAP_DLP_TLS_KEY (port 11344;
#        ICAP_DLP_TLS_CLIENT_CA for client certificates, ICAP_DLP_PLAIN_ICAP=false for TLS only).
#        Kubernetes manifests: deploy/kubernetes (read-only root: TMPDIR and the audit spool are emptyDirs).
# Policies and detectors are mountable: -v ./policies:/etc/icap-dlp/policies:ro
#        and ICAP_DLP_POLICY=/etc/icap-dlp/policies (ICAP_DLP_DETECTORS for extra detector files).
# Keys come from mounted secrets or env vars filled by a secrets manager, never from policy files:
#        ICAP_DLP_HMAC_KEY_FILE=/run/secrets/icap-dlp-hmac
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY icap_dlp ./icap_dlp
COPY detectors ./detectors
COPY policies ./policies
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 icapdlp \
 && useradd --system --uid 10001 --gid icapdlp --home-dir /nonexistent --shell /usr/sbin/nologin icapdlp \
 && mkdir -p /etc/icap-dlp/policies /etc/icap-dlp/detectors /var/lib/icap-dlp \
 && chown icapdlp:icapdlp /var/lib/icap-dlp
COPY --from=build /install /usr/local
COPY policies /etc/icap-dlp/policies
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ICAP_DLP_HOST=0.0.0.0 \
    ICAP_DLP_PORT=1344 \
    ICAP_DLP_METRICS_HOST=0.0.0.0 \
    ICAP_DLP_METRICS_PORT=9344
USER 10001:10001
EXPOSE 1344 11344 9344
# /readyz (503 = not ready): works with --no-plain-icap too, and checks every worker
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['ICAP_DLP_METRICS_PORT'], timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["icap-dlp"]
CMD ["serve"]
