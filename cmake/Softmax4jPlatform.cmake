# Softmax4jPlatform.cmake - the platform directory the jar keeps the library in.
#
# Sets S4J_PLATFORM to "<os>-<arch>", the name the Java loader computes from
# os.name and os.arch (NativeLibraryLoader.platform): linux-x86_64,
# linux-aarch64, macos-aarch64, windows-x86_64, ...

include_guard(GLOBAL)

string(TOLOWER "${CMAKE_SYSTEM_NAME}" _s4j_os)
if(_s4j_os STREQUAL "darwin")
  set(_s4j_os "macos")
endif()

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _s4j_arch)
if(_s4j_arch MATCHES "^(x86_64|amd64|x64)$")
  set(_s4j_arch "x86_64")
elseif(_s4j_arch MATCHES "^(aarch64|arm64)$")
  set(_s4j_arch "aarch64")
endif()

set(S4J_PLATFORM "${_s4j_os}-${_s4j_arch}")
