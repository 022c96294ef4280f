# Locust with the simulator's client kit (loadtests/ imports simulator.kit), for the
# master and workers of docker-compose.yml. Built from the repository root.
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN python3 -m venv /opt/locust \
    && /opt/locust/bin/pip install . locust==2.47.0 \
    && cp -r loadtests /loadtests && rm -rf /src
ENV PATH=/opt/locust/bin:$PATH
WORKDIR /loadtests
ENTRYPOINT ["locust"]
