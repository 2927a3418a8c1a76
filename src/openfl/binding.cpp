// Loading the images behind a program's texture uniforms.

#include "fabforge/openfl/binding.hpp"

#include <string>

#include "fabforge/core/error.hpp"

namespace fabforge::openfl {

std::vector<Texture> load_textures(const Program& program, const UniformValues& values,
                                   const std::filesystem::path& base_dir, Wrap wrap) {
  std::vector<Texture> textures;
  textures.reserve(static_cast<std::size_t>(program.texture_count()));
  for (int slot = 0; slot < program.texture_count(); ++slot) {
    const auto u = static_cast<std::size_t>(program.texture_uniform(slot));
    const std::string& name = program.uniforms()[u].name;
    if (u >= values.texts.size() || values.texts[u].empty())
      throw usage_error("texture uniform '" + name + "' has no image (no default and none set)");
    std::filesystem::path path = values.texts[u];
    if (path.is_relative()) path = base_dir / path;
    try {
      textures.push_back(Texture::load(path.string(), wrap));
    } catch (const Error& e) {
      throw input_error("texture uniform '" + name + "': " + e.what());
    }
  }
  return textures;
}

}  // namespace fabforge::openfl
