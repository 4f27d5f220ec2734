# Softmax4jSanitizers.cmake - AddressSanitizer + UndefinedBehaviorSanitizer.
#
# With S4J_SANITIZE=ON every target of the project (library, tests, examples)
# is compiled and linked with ASan and UBSan. Any report aborts the process
# (-fno-sanitize-recover=all), so ctest sees a failure instead of a log line.

include_guard(GLOBAL)

option(S4J_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

if(S4J_SANITIZE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "S4J_SANITIZE needs GCC or Clang, not ${CMAKE_C_COMPILER_ID}")
  endif()
  set(_s4j_sanitize_flags
    -fsanitize=address,undefined
    -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_compile_options(${_s4j_sanitize_flags})
  add_link_options(${_s4j_sanitize_flags})
  message(STATUS "Softmax4J: building with ASan + UBSan")
endif()
