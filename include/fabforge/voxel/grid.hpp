#pragma once
/// The printer's voxel grid and the material slices the voxel pipeline streams (issue 6; see
/// docs/voxel-world.md). Voxel (i, j, k) is column i along x (xdpi), row j along y (ydpi), layer
/// k along z (layer thickness), all counted from the grid's min corner; its centre is
/// origin + ((i + 0.5) dx, (j + 0.5) dy, (k + 0.5) dz). Slices are stored row-major, row j = 0
/// first, one byte per voxel: 0 = void, m = material m - 1 of the printer's material table.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fabforge/core/vec.hpp"

namespace fabforge::voxel {

struct Grid {
  double dx = 25.4 / 600;  ///< mm per voxel along x (600 dpi)
  double dy = 25.4 / 300;  ///< mm per voxel along y (300 dpi)
  double dz = 0.027;       ///< mm per layer (27 um)
  Vec3d origin{0, 0, 0};   ///< min corner of voxel (0, 0, 0), mm
  int nx = 0, ny = 0, nz = 0;

  Vec3d centre(int i, int j, int k) const {
    return {origin.x + (i + 0.5) * dx, origin.y + (j + 0.5) * dy, origin.z + (k + 0.5) * dz};
  }
  std::size_t slice_voxels() const { return static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny); }
  double voxel_volume() const { return dx * dy * dz; }
};

/// One layer of material indices (0 = void, m = material m - 1), nx * ny bytes, row-major.
struct Slice {
  int k = 0;  ///< layer index
  int width = 0, height = 0;
  std::vector<std::uint8_t> material;
};

/// A material of the printer: name, id (as the printer's software knows it) and display RGBA.
struct Material {
  std::string name;
  int id = 0;
  std::array<std::uint8_t, 4> rgba{0, 0, 0, 255};
};

}  // namespace fabforge::voxel
