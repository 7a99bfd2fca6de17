#!/usr/bin/env bash
# Installs the OS packages the integration tests start servers from, when they are missing:
#   openssh-server (sshd, ssh-keygen: the SFTP server), samba (smbd, smbpasswd: the SMB server),
#   rabbitmq-server (the message broker, used as a running service on 127.0.0.1:5672),
#   chromium and chromium-driver (the end-to-end suite drives Airflow's UI headless through them),
#   redis-server (the Celery broker of the end-to-end suite's CeleryExecutor run, on 127.0.0.1:6379).
# S3 (moto) and SMTP (aiosmtpd) are Python packages from requirements-dev.txt. Debian/Ubuntu only;
# needs root (or passwordless sudo) the first time.
set -euo pipefail

need=()
command -v /usr/sbin/sshd >/dev/null 2>&1 || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v smbd >/dev/null 2>&1 || command -v /usr/sbin/smbd >/dev/null 2>&1 || need+=(samba)
command -v smbpasswd >/dev/null 2>&1 || need+=(samba-common-bin)
command -v rabbitmq-server >/dev/null 2>&1 || command -v /usr/sbin/rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
# tests/e2e/test_ui.py uses these exact paths: Debian's browser and its matching driver.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if [ ${#need[@]} -gt 0 ]; then
  echo "Installing OS packages for the test servers: ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The broker is a service the tests use as it runs; start it when nothing listens on its port.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! port_open "${REPORTING_TEST_RABBITMQ_PORT:-5672}"; then
  echo "Starting rabbitmq-server..."
  as_root service rabbitmq-server start >/dev/null 2>&1 || as_root rabbitmq-server -detached
  for _ in $(seq 60); do port_open "${REPORTING_TEST_RABBITMQ_PORT:-5672}" && break; sleep 1; done
fi

# Redis likewise: the e2e suite's CeleryExecutor run uses it as its broker (REPORTING_TEST_REDIS_URL).
if ! port_open 6379; then
  echo "Starting redis-server..."
  as_root service redis-server start >/dev/null 2>&1 || as_root redis-server --daemonize yes --bind 127.0.0.1 >/dev/null
  for _ in $(seq 30); do port_open 6379 && break; sleep 1; done
fi
