# QENEX node image: multi-stage (build wheels, then a slim runtime), non-root, with a healthcheck.
# Build: docker build -t qenex:0.1.0 .   Run: see docs/operations.md (a node home is mounted at
# /var/lib/qenex: genesis.json, validator.key, p2p-key.pem, node.json, node.toml; data/ on a volume).

FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libleveldb-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY node ./node
COPY consensus ./consensus
COPY ledger ./ledger
COPY contracts ./contracts
COPY kernel ./kernel
COPY gateways ./gateways
COPY genesis ./genesis
COPY bench ./bench
RUN python -m venv /opt/qenex && /opt/qenex/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libleveldb1d \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 qenex \
    && useradd --system --uid 10001 --gid qenex --home-dir /var/lib/qenex --create-home qenex
COPY --from=build /opt/qenex /opt/qenex
ENV PATH=/opt/qenex/bin:$PATH \
    QENEX_RPC_HOST=0.0.0.0 \
    QENEX_RPC_PORT=8545 \
    QENEX_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/qenex
EXPOSE 8545 26656
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('QENEX_RPC_PORT', '8545'), timeout=2)"
ENTRYPOINT ["qenex", "node", "run", "--home", "/var/lib/qenex"]
