# insi-dmp-simulator in a container: every service on port 8080, state in /data.
#   docker build -t insi-dmp-sim .
#   docker run --rm -p 8080:8080 insi-dmp-sim
# Configuration is by SIM_* variables (README "Options"). CI builds and runs this image
# with podman (tests/package/test_container.py).
#
# Build arguments:
#   BASE      the base image: any Debian-like image with python3 (3.11 to 3.13) and its
#             venv module. CI builds one from Debian packages (.ci/base-image).
#   PACKAGE   what pip installs: "." builds the wheel from this source; CI passes the
#             wheel it tested (dist/insi_dmp_simulator-<version>-py3-none-any.whl).
#   PIP_ARGS  extra pip options; CI passes "--no-index --find-links wheels" (wheels it
#             downloaded on the host, for builds without a package index).
ARG BASE=python:3.11-slim

FROM ${BASE} AS install
ARG PACKAGE=.
ARG PIP_ARGS=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
# A regular (not editable) install: the WSDLs, scenarios and templates come from the wheel.
RUN python3 -m venv /opt/insi-dmp-sim \
    && /opt/insi-dmp-sim/bin/pip install $PIP_ARGS "$PACKAGE"

FROM ${BASE}
ENV PATH=/opt/insi-dmp-sim/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIM_HOST=0.0.0.0 \
    SIM_PORT=8080 \
    SIM_DATA_DIR=/data
COPY --from=install /opt/insi-dmp-sim /opt/insi-dmp-sim
RUN useradd --uid 10001 --no-create-home sim && mkdir -p /data && chown sim /data
USER sim
VOLUME ["/data"]
EXPOSE 8080
# The check reads the same SIM_* variables as the server: https under SIM_TLS (with the
# generated client certificate when one is required). Every second, so that the first
# check after start finds the server up (about 1 s); each costs about 50 ms of CPU.
HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-m", "simulator.healthcheck"]
CMD ["insi-dmp-sim", "serve"]
