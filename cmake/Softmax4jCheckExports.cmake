# Softmax4jCheckExports.cmake - script (cmake -P) run by the `exports` test:
# the shared library exports exactly the public s4j_* API, nothing internal.
#
#   cmake -DNM=<nm> -DLIBRARY=<libsoftmax4j.so> -P Softmax4jCheckExports.cmake

cmake_policy(VERSION 3.16)

if(NOT NM OR NOT LIBRARY)
  message(FATAL_ERROR "usage: cmake -DNM=<nm> -DLIBRARY=<lib> -P Softmax4jCheckExports.cmake")
endif()

set(_expected
  s4j_cpu_features s4j_isa s4j_isa_status s4j_isa_supported s4j_strerror
  s4j_log_softmax_forward_f32 s4j_log_softmax_backward_f32
  s4j_log_softmax_forward_f32_scalar s4j_log_softmax_backward_f32_scalar
  s4j_log_softmax_forward_f32_avx2 s4j_log_softmax_backward_f32_avx2
  s4j_log_softmax_forward_f32_avx512 s4j_log_softmax_backward_f32_avx512
  s4j_cross_entropy_forward_f32 s4j_cross_entropy_backward_f32
  s4j_cross_entropy_forward_f32_scalar s4j_cross_entropy_backward_f32_scalar
  s4j_cross_entropy_forward_f32_avx2 s4j_cross_entropy_backward_f32_avx2
  s4j_cross_entropy_forward_f32_avx512 s4j_cross_entropy_backward_f32_avx512
  s4j_nll_loss_forward_f32 s4j_nll_loss_backward_f32
  s4j_log_softmax_dim_forward_f32 s4j_log_softmax_dim_backward_f32
  s4j_softmax_dim_forward_f32 s4j_softmax_dim_backward_f32
  s4j_log_softmax_dim_forward_f64 s4j_log_softmax_dim_backward_f64
  s4j_softmax_dim_forward_f64 s4j_softmax_dim_backward_f64
  s4j_softmax_strided s4j_softmax_strided_scalar s4j_softmax_strided_avx2
  s4j_softmax_strided_avx512
  s4j_logsumexp_forward_f32 s4j_logsumexp_backward_f32
  s4j_logsumexp_forward_f32_scalar s4j_logsumexp_backward_f32_scalar
  s4j_logsumexp_forward_f32_avx2 s4j_logsumexp_backward_f32_avx2
  s4j_logsumexp_forward_f32_avx512 s4j_logsumexp_backward_f32_avx512)
foreach(_type f64 bf16 f16)
  foreach(_suffix "" _scalar _avx2 _avx512)
    list(APPEND _expected s4j_logsumexp_forward_${_type}${_suffix}
         s4j_logsumexp_backward_${_type}${_suffix})
  endforeach()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}"
  OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()

string(REPLACE "\n" ";" _lines "${_out}")
set(_exported "")
foreach(_line IN LISTS _lines)
  # "<address> T <name>": functions only (the sanitizer runtime adds others)
  if(_line MATCHES "^[0-9a-fA-F]+ [T] ([A-Za-z0-9_]+)$")
    list(APPEND _exported "${CMAKE_MATCH_1}")
  endif()
endforeach()

set(_missing "")
foreach(_name IN LISTS _expected)
  if(NOT _name IN_LIST _exported)
    list(APPEND _missing ${_name})
  endif()
endforeach()
set(_extra "")
foreach(_name IN LISTS _exported)
  if(_name MATCHES "^s4j_" AND NOT _name IN_LIST _expected)
    list(APPEND _extra ${_name})
  endif()
endforeach()
list(FILTER _exported INCLUDE REGEX "^s4j_")
list(LENGTH _exported _count)

if(_missing OR _extra)
  message(FATAL_ERROR "exports: missing [${_missing}], internal symbols exported [${_extra}]")
endif()
message(STATUS "exports: the ${_count} public s4j_* functions, nothing internal")
