#!/bin/bash
# The runbook's "Morning Health Check" script, as written there, with its targets made
# parameters so it can run against the benchmark's local stack (the runbook reaches
# PostgreSQL and Redis through `docker-compose exec`, which would only make it slower).
#   APP_URL PGHOST PGPORT PGDATABASE REDIS_PORT REDIS_DB CERT_FILE

echo "=== Daily Health Check ==="

# Application health
curl -f "$APP_URL" || echo "❌ Application health check failed"

# Database connectivity
pg_isready -h "$PGHOST" -p "$PGPORT" -U postgres -d "$PGDATABASE" || echo "❌ Database connectivity failed"

# Redis connectivity
redis-cli -p "$REDIS_PORT" -n "$REDIS_DB" ping || echo "❌ Redis connectivity failed"

# Disk space check
DISK_USAGE=$(df / | tail -1 | awk '{print $5}' | sed 's/%//')
if [ "$DISK_USAGE" -gt 90 ]; then
    echo "❌ Disk usage critical: ${DISK_USAGE}%"
fi

# Memory usage check
MEMORY_USAGE=$(free | grep Mem | awk '{printf "%.0f", $3/$2 * 100.0}')
if [ "$MEMORY_USAGE" -gt 90 ]; then
    echo "❌ Memory usage critical: ${MEMORY_USAGE}%"
fi

# Certificate expiry check
CERT_EXPIRY=$(openssl x509 -enddate -noout -in "$CERT_FILE" | cut -d= -f2)
CERT_DAYS=$(( ($(date -d "$CERT_EXPIRY" +%s) - $(date +%s)) / 86400 ))
if [ "$CERT_DAYS" -lt 30 ]; then
    echo "⚠️  SSL certificate expires in ${CERT_DAYS} days"
fi

echo "✅ Health check completed"
