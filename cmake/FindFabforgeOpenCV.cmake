# Finds the OpenCV modules fabforge uses (core, imgproc) from Debian's per-module
# -dev packages, which ship headers and libraries but not OpenCVConfig.cmake.
# Defines the interface target fabforge_opencv.
find_path(FabforgeOpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
foreach(_m core imgproc)
  find_library(FabforgeOpenCV_${_m}_LIBRARY NAMES opencv_${_m})
  list(APPEND _fabforge_opencv_libs FabforgeOpenCV_${_m}_LIBRARY)
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FabforgeOpenCV REQUIRED_VARS FabforgeOpenCV_INCLUDE_DIR ${_fabforge_opencv_libs})

if(FabforgeOpenCV_FOUND AND NOT TARGET fabforge_opencv)
  add_library(fabforge_opencv INTERFACE)
  target_include_directories(fabforge_opencv SYSTEM INTERFACE ${FabforgeOpenCV_INCLUDE_DIR})
  foreach(_m imgproc core)
    target_link_libraries(fabforge_opencv INTERFACE ${FabforgeOpenCV_${_m}_LIBRARY})
  endforeach()
endif()
