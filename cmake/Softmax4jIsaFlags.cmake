# Softmax4jIsaFlags.cmake - per-file instruction-set flags.
#
# The library as a whole is compiled for the baseline of its architecture, so
# it loads and runs (scalar) on any CPU of that architecture. Only the files
# that hold one ISA's kernels get that ISA's flags, chosen by file-name suffix:
#
#   *_avx512.c  -mavx512f -mavx512dq -mavx2 -mfma -mprfchw
#   *_avx2.c    -mavx2 -mfma -mprfchw
#
# -mprfchw lets __builtin_prefetch(p, 1, ...) emit prefetchw (fetch a line to
# write it). Every AMD and Intel CPU with AVX2 runs it: Intel's before
# Broadwell, which lack the CPUID bit, execute it as a no-op.
#
# Sets S4J_X86_64 (TRUE when the target processor is x86-64) and provides
#   s4j_apply_isa_flags(<source>...)

include_guard(GLOBAL)

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _s4j_processor)
if(_s4j_processor MATCHES "^(x86_64|amd64|x64)$")
  set(S4J_X86_64 TRUE)
else()
  set(S4J_X86_64 FALSE)
endif()

set(S4J_FLAGS_AVX2 -mavx2 -mfma -mprfchw)
set(S4J_FLAGS_AVX512 -mavx512f -mavx512dq -mavx2 -mfma -mprfchw)

function(s4j_apply_isa_flags)
  foreach(source IN LISTS ARGN)
    if(source MATCHES "_avx512\\.c$")
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS ${S4J_FLAGS_AVX512})
    elseif(source MATCHES "_avx2\\.c$")
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS ${S4J_FLAGS_AVX2})
    endif()
  endforeach()
endfunction()
