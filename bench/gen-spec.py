#!/usr/bin/env python3
"""Benchmarks — print a valid stack spec with N workers (the shape of examples/fred, scaled up).

Usage: bench/gen-spec.py N > spec.yaml
Workers consume one of ten queues; even ones serve metrics, odd ones have a health command.
"""
import sys

n = int(sys.argv[1])
queues = [f"jobs.q{i}" for i in range(10)]
out = [
    "name: bench",
    "domain: bench.example.com",
    "frontend:",
    "  image: ghcr.io/acme/bench-web:1.0.0",
    "  port: 8000",
    "  health: { path: /healthz }",
    "  metrics: { path: /metrics }",
    "  replicas: { min: 2, max: 10 }",
    "  resources: { cpu: 250m, memory: 256Mi }",
    "  env: { DJANGO_SETTINGS_MODULE: bench.settings }",
    "  secrets: [DJANGO_SECRET_KEY]",
    "  migrate: [python, manage.py, migrate]",
    "workers:",
]
for i in range(n):
    out += [
        f"  - name: w{i}",
        "    image: ghcr.io/acme/bench-worker:1.0.0",
        f"    command: [celery, -A, bench, worker, -Q, {queues[i % 10]}]",
        f"    consumes: {queues[i % 10]}",
        "    replicas: { min: 2, max: 8 }",
        "    resources: { cpu: 100m, memory: 128Mi }",
        f"    env: {{ WORKER_INDEX: \"{i}\" }}",
        "    secrets: [BROKER_PASSWORD]",
    ]
    if i % 2 == 0:
        out.append("    metrics: { path: /metrics, port: 9100 }")
    else:
        out.append("    health: { command: [celery, -A, bench, inspect, ping] }")
out += [
    "queue:",
    f"  rabbitmq: {{ version: \"4.3\", replicas: 3, queues: [{', '.join(queues)}] }}",
    "postgres:",
    "  version: \"17\"",
    "  storage: 50Gi",
    "  ha: true",
    "  backup: { retention_days: 14 }",
    "monitoring:",
    "  metrics: true",
    "  logs: true",
    "targets:",
    "  eks: { region: eu-west-1 }",
    "  gke: { project: acme-bench, region: europe-west1 }",
    "  hetzner: { location: fsn1 }",
]
print("\n".join(out))
