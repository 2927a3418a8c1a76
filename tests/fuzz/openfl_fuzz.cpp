// libFuzzer target for the OpenFL compiler: any byte string goes through the lexer, parser and
// checker; programs that compile are also lowered, optimised and assembled, and run on a few
// lanes when they need no textures or surface. Crashes, sanitizer reports, hangs and internal
// errors (FABFORGE_CHECK) are findings; diagnostics and runtime Errors (loop caps) are not.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/program.hpp"

using namespace fabforge::openfl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const CompileResult result = compile("fuzz.fl", text);
  (void)result.diagnostics.format_all();
  if (!result.program) return 0;
  const Program& program = *result.program;
  const UniformValues values = program.defaults();
  try {
    program.check_complete(values);
  } catch (const fabforge::Error&) {
    return 0;
  }
  for (Phase phase : {Phase::surface, Phase::volume}) {
    const auto kernel = program.kernel(phase, values);
    (void)program.kernel(phase, values, KernelOptions{false, false});
    if (program.texture_count() > 0 || kernel->query_count > 0) continue;
    constexpr std::size_t kLanes = 8;
    std::vector<std::vector<float>> in(static_cast<std::size_t>(kernel->input_count), std::vector<float>(kLanes));
    std::vector<std::vector<float>> out(static_cast<std::size_t>(kernel->output_count), std::vector<float>(kLanes));
    std::vector<const float*> in_cols;
    std::vector<float*> out_cols;
    for (std::size_t c = 0; c < in.size(); ++c) {
      for (std::size_t i = 0; i < kLanes; ++i) in[c][i] = static_cast<float>(i) * 0.75f - 2.0f + static_cast<float>(c);
      in_cols.push_back(in[c].data());
    }
    for (auto& col : out) out_cols.push_back(col.data());
    try {
      TextureHost host;
      BatchExecutor(kernel, ExecOptions{1000}).run(host, kLanes, in_cols.data(), out_cols.data());
    } catch (const fabforge::Error&) {
      // a loop cap is a runtime error of the program, not of the compiler
    }
  }
  return 0;
}
