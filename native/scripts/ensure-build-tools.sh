#!/usr/bin/env bash
# Makes sure the tools that build the native library are present. On a Debian machine where we are
# root, missing ones are installed; elsewhere the build stops here with the list of what to install,
# instead of failing later in CMake with a less obvious message.
set -euo pipefail

# command -> Debian package that provides it
declare -A needed=([cmake]=cmake [cc]=gcc [make]=make)
missing=()
for tool in "${!needed[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${needed[$tool]}")
done
# The sanitizer build of the C tests needs the ASan/UBSan runtimes that come with gcc.
if command -v cc >/dev/null 2>&1 && ! echo 'int main(void){return 0;}' |
    cc -x c -fsanitize=address,undefined -o /dev/null - >/dev/null 2>&1; then
  missing+=(gcc)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "softmax4j: installing build tools: $packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $packages
else
  echo "softmax4j: the native build needs these missing tools: $packages" >&2
  echo "softmax4j: install them (e.g. sudo apt-get install $packages) and build again" >&2
  exit 1
fi
