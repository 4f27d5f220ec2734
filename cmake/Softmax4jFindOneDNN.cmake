# Softmax4jFindOneDNN.cmake - the optional oneDNN comparison of the C benchmark.
#
# Looks for oneDNN's C API (dnnl.h and libdnnl, e.g. Debian's libdnnl-dev) and
# sets S4J_ONEDNN_FOUND, S4J_ONEDNN_INCLUDE_DIR, S4J_ONEDNN_LIBRARY. Never
# required: without it the benchmark is built without the oneDNN column.
# S4J_BENCH_ONEDNN=OFF skips the search.

include_guard(GLOBAL)

option(S4J_BENCH_ONEDNN "Compare with oneDNN in the C benchmark when it is installed" ON)

set(S4J_ONEDNN_FOUND FALSE)
if(S4J_BENCH_ONEDNN)
  find_path(S4J_ONEDNN_INCLUDE_DIR dnnl.h PATH_SUFFIXES oneapi/dnnl)
  find_library(S4J_ONEDNN_LIBRARY NAMES dnnl)
  if(S4J_ONEDNN_INCLUDE_DIR AND S4J_ONEDNN_LIBRARY)
    set(S4J_ONEDNN_FOUND TRUE)
    message(STATUS "Softmax4J bench: oneDNN found (${S4J_ONEDNN_LIBRARY})")
  else()
    message(STATUS "Softmax4J bench: oneDNN not found; the benchmark has no oneDNN column")
  endif()
endif()
