#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for building and testing Quiver:
# the system compression libraries (liblz4-dev, libzstd-dev, zlib1g-dev for .json.gz, pkg-config),
# PCRE2 for SQL regular expressions (libpcre2-dev), openssl (test certificates for the Flight
# server's TLS), curl (the service test) and the Python peers the interoperability tests
# compare against (pyarrow, Polars, DuckDB, and the ADBC Flight SQL driver for the Flight
# server). Idempotent: installs only what is missing.
set -euo pipefail

need_apt=()
for pkg in liblz4-dev libzstd-dev zlib1g-dev libpcre2-dev pkg-config openssl curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
need_pip=()
for mod in pyarrow polars duckdb numpy; do
  "$PYTHON" -c "import $mod" >/dev/null 2>&1 || need_pip+=("$mod")
done
# The Flight server's interoperability tests (make test-flight): pyarrow.flight comes with
# pyarrow; the ADBC Flight SQL driver and its driver manager are modules of their own.
for pkg in adbc_driver_flightsql:adbc-driver-flightsql adbc_driver_manager:adbc-driver-manager; do
  "$PYTHON" -c "import ${pkg%%:*}" >/dev/null 2>&1 || need_pip+=("${pkg##*:}")
done
# TPC-H data for the query tests and datasets (a command, not a module).
command -v tpchgen-cli >/dev/null 2>&1 || need_pip+=("tpchgen-cli")
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "setup: pip installing ${need_pip[*]}"
  "$PYTHON" -m pip install -q "${need_pip[@]}"
fi
