# Generates build_info.hpp with the version, the git commit and the LibTorch version, re-checked at
# every build so that a new commit is picked up without re-configuring (llama.cpp's build-info idea).
# CUDA version of the LibTorch found ("" without CUDA): TorchConfig sets CUDA_VERSION through Caffe2.
if(TORCH_CUDA_LIBRARIES AND DEFINED CUDA_VERSION)
  set(ADBENCH_CUDA_VERSION "${CUDA_VERSION}")
else()
  set(ADBENCH_CUDA_VERSION "")
endif()
set(ADBENCH_BUILD_INFO_DIR ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${ADBENCH_BUILD_INFO_DIR}/adbench)
add_custom_target(adbench_build_info
  COMMAND ${CMAKE_COMMAND}
    -DSRC=${CMAKE_SOURCE_DIR}
    -DOUT=${ADBENCH_BUILD_INFO_DIR}/adbench/build_info.hpp
    -DVERSION=${PROJECT_VERSION}
    -DTORCH_VERSION=${Torch_VERSION}
    -DCUDA_VERSION=${ADBENCH_CUDA_VERSION}
    -P ${CMAKE_SOURCE_DIR}/cmake/write_build_info.cmake
  BYPRODUCTS ${ADBENCH_BUILD_INFO_DIR}/adbench/build_info.hpp
  COMMENT "Checking git commit for build_info.hpp")
