#!/usr/bin/env bash
# Build the documentation site with mkdocs-material and mkdocstrings, failing on any warning.
#
# Usage: bash scripts/build_docs.sh [SITE_DIR]     (default: site)
#
# Installs the "docs" extra (pip install -e ".[docs]") first when mkdocs or mkdocstrings is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 NO_MKDOCS_2_WARNING=1
if ! python -c "import mkdocs, mkdocstrings_handlers.python, material" >/dev/null 2>&1; then
  echo "build_docs: installing the docs extra (pip install -e \".[docs]\")" >&2
  python -m pip install -e ".[docs]"
fi
python -m mkdocs build --strict --site-dir "${1:-site}"
