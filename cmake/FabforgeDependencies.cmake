# System dependencies, all from Debian 12 packages installed by scripts/install-deps.sh.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# OpenCV: use its CMake package when libopencv-dev is installed; otherwise find the two module
# packages we need (core, imgproc) directly, which avoids pulling in all of OpenCV. Not imgcodecs:
# on Debian it links about 120 shared libraries (GDAL, GDCM, OpenEXR...) and made every fabforge
# command take 0.15 s to start; PNG and JPEG files go through libpng and libjpeg directly.
find_package(OpenCV 4 QUIET COMPONENTS core imgproc)
if(OpenCV_FOUND)
  add_library(fabforge_opencv INTERFACE)
  target_link_libraries(fabforge_opencv INTERFACE ${OpenCV_LIBS})
  target_include_directories(fabforge_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
else()
  find_package(FabforgeOpenCV REQUIRED)
endif()

# Image files (src/core/image_codec.cpp): libpng-dev and libjpeg-dev (libjpeg62-turbo).
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)

if(FABFORGE_WITH_TBB)
  find_package(TBB REQUIRED)
endif()

pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
find_package(pugixml REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
# Clipper 6.4 (Debian's libpolyclipping-dev): polygon offsetting and clipping for toolpaths.
pkg_check_modules(POLYCLIPPING REQUIRED IMPORTED_TARGET polyclipping)

if(FABFORGE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(FABFORGE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
