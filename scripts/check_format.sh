#!/usr/bin/env bash
# Checks that every C++ file git tracks is formatted with the committed .clang-format (clang-format
# 14, Debian 12). Usage: scripts/check_format.sh [--fix]   (--fix rewrites the files in place)
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$fmt" ]]; then
  echo "check_format: clang-format not found (scripts/install_deps.sh --format)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
if [[ "${1:-}" == "--fix" ]]; then
  "$fmt" -i --style=file "${files[@]}"
  exit 0
fi
if ! "$fmt" --dry-run --Werror --style=file "${files[@]}" 2>/tmp/adbench-format.$$; then
  grep -m 20 "error:" /tmp/adbench-format.$$ >&2 || true
  n=$(grep -c "error:" /tmp/adbench-format.$$ || true)
  rm -f /tmp/adbench-format.$$
  echo "check_format: $n places differ from .clang-format; run scripts/check_format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/adbench-format.$$
echo "check_format: ${#files[@]} files formatted as .clang-format says"
