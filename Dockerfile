# insi-dmp-simulator in a container: every service on port 8080, state in /data.
#   docker build -t insi-dmp-sim .
#   docker run --rm -p 8080:8080 insi-dmp-sim
# Configuration is by SIM_* variables (README "Options"); tests/live/test_dockerfile.py
# runs these same install, start and health-check commands outside Docker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SIM_HOST=0.0.0.0 \
    SIM_PORT=8080 \
    SIM_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY wsdl ./wsdl
COPY scenarios ./scenarios
# Editable install: the WSDLs and scenarios are read from /app beside the package.
RUN pip install -e .
RUN useradd --uid 10001 --no-create-home sim && mkdir -p /data && chown sim /data

USER sim
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=3s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_admin/health' % os.environ.get('SIM_PORT', '8080'), timeout=2)"]
CMD ["insi-dmp-sim", "serve"]
