# syntax=docker/dockerfile:1
# The SMS gateway and WhatsApp Cloud API doubles for compose (regua_localstack.provider_sink): one module
# and aiohttp, not the local stack's broker and PostgreSQL.
#   docker build -f deploy/docker/provider-doubles.Dockerfile -t regua-provider-doubles:dev .
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE}
ARG UID=10001
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY constraints.txt /tmp/constraints.txt
RUN pip install -c /tmp/constraints.txt aiohttp \
 && groupadd --system --gid ${UID} regua \
 && useradd --system --uid ${UID} --gid ${UID} --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin regua
COPY libs/regua-localstack/src/regua_localstack/provider_sink.py /opt/doubles/provider_sink.py
USER ${UID}:${UID}
WORKDIR /tmp
EXPOSE 8090
CMD ["python", "/opt/doubles/provider_sink.py", "--host", "0.0.0.0", "--port", "8090", "--out", "/tmp/providers.jsonl"]
