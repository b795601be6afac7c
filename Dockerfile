# The project image: aiops-exporter, aiops-receiver and the demo workload.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aiops_common ./aiops_common
COPY exporter ./exporter
COPY alertmanager_receiver ./alertmanager_receiver
COPY devstack ./devstack
RUN pip install --no-cache-dir '.[all]' && useradd --system --uid 10001 aiops && mkdir /data /var/lib/aiops-exporter && chown aiops /data /var/lib/aiops-exporter
USER aiops
EXPOSE 9875 9876
ENTRYPOINT ["aiops-exporter"]
CMD ["--help"]
