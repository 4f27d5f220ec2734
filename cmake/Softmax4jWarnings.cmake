# Softmax4jWarnings.cmake - the warning set every Softmax4J C target compiles with.
#
#   s4j_set_warnings(<target> [KERNEL])
#
# KERNEL adds the warnings that matter in float kernels but only add noise in
# tests and examples (-Wdouble-promotion: every printf of a float).
#
# S4J_WERROR (OFF by default, so a newer compiler's new warning never breaks a
# user's build) turns every warning into an error; CI and developers use it.

include_guard(GLOBAL)

option(S4J_WERROR "Treat compiler warnings as errors" OFF)

function(s4j_set_warnings target)
  cmake_parse_arguments(PARSE_ARGV 1 _w "KERNEL" "" "")
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic
      -Wshadow
      -Wconversion -Wsign-conversion
      -Wstrict-prototypes -Wmissing-prototypes
      -Wcast-qual -Wundef -Wvla)
    if(_w_KERNEL)
      # float kernels must not slip into double by accident
      target_compile_options(${target} PRIVATE -Wdouble-promotion)
    endif()
    if(S4J_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4)
    if(S4J_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()
endfunction()
