#!/usr/bin/env bash
# Configures and builds one CMake tree of the native library for the Maven build:
#   cmake-build.sh SOURCE_DIR BUILD_DIR TARGET [cmake configure arguments...]
# The output goes to BUILD_DIR.log and is shown only when a step fails, so that a successful
# build leaves the console to the program being run.
set -euo pipefail
src=$1 build=$2 target=$3
shift 3
mkdir -p "$build"
log="$build.log"
if ! { cmake -S "$src" -B "$build" "$@" && cmake --build "$build" --parallel --target "$target"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "softmax4j: the native build in $build failed (log: $log)" >&2
  exit 1
fi
