#!/usr/bin/env bash
# Makes sure the tools that build and test the native library are present:
#   ensure-build-tools.sh [skipTests]
# On a Debian machine where we are root, missing ones are installed; elsewhere a missing required
# tool stops the build here with the list of what to install, instead of a less obvious failure
# later in CMake.
set -euo pipefail
skip_tests=${1:-false}

required=()
for tool_package in cmake:cmake cc:gcc make:make; do
  command -v "${tool_package%%:*}" >/dev/null 2>&1 || required+=("${tool_package#*:}")
done
# The sanitizer build of the C tests needs the ASan/UBSan runtimes that come with gcc.
if [ "$skip_tests" != true ] && command -v cc >/dev/null 2>&1 &&
    ! echo 'int main(void){return 0;}' | cc -x c -fsanitize=address,undefined -o /dev/null - >/dev/null 2>&1; then
  required+=(gcc)
fi
# Optional: qemu-user runs the C tests on emulated CPUs without AVX and without AVX-512; where it
# cannot be installed, those tests are not registered.
optional=()
if [ "$skip_tests" != true ] && ! command -v qemu-x86_64 >/dev/null 2>&1; then
  optional+=(qemu-user)
fi

can_install=false
[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && can_install=true

if [ ${#required[@]} -eq 0 ] && { [ ${#optional[@]} -eq 0 ] || [ $can_install = false ]; }; then
  exit 0
fi
if [ $can_install = false ]; then
  echo "softmax4j: the native build needs these missing tools: ${required[*]}" >&2
  echo "softmax4j: install them (e.g. sudo apt-get install ${required[*]}) and build again" >&2
  exit 1
fi
packages=$(printf '%s\n' "${required[@]}" "${optional[@]}" | sort -u | tr '\n' ' ')
echo "softmax4j: installing build tools: $packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
