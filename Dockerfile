# VeoGen image: one image for web, workers, scheduler and migrations.
# Multi-stage: wheels are built in the first stage; the runtime stage runs as a non-root user.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY requirements.txt pyproject.toml README.md ./
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt
COPY core ./core
COPY workers ./workers
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VEOGEN_DATA_DIR=/data
RUN useradd --create-home --uid 10001 veogen && mkdir /data && chown veogen /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY --chown=veogen streamlit_app.py ./
COPY --chown=veogen pages ./pages
COPY --chown=veogen .streamlit ./.streamlit
USER veogen
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0"]
