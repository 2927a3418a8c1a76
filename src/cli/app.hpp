#pragma once
// The fabforge command line: global options, the subcommand registry and error handling.
// Every subcommand lives in its own cmd_<name>.cpp and registers itself in app.cpp.

#include <CLI/CLI.hpp>

#include <atomic>
#include <memory>
#include <ostream>

#include "fabforge/core/run_context.hpp"

#include "progress_render.hpp"

namespace fabforge::cli {

/// Options every subcommand shares.
struct GlobalOptions {
  bool quiet = false;
  int threads = 0;
  ProgressMode progress = ProgressMode::automatic;
};

/// What a subcommand gets when it runs: the shared options, where to print results, and a way
/// to make the job's RunContext (threads, progress sink, cancellation on Ctrl-C).
class CommandEnv {
 public:
  CommandEnv(const GlobalOptions& globals, std::ostream& out, std::ostream& err)
      : globals_(globals), out_(out), err_(err) {}
  const GlobalOptions& globals() const { return globals_; }
  std::ostream& out() { return out_; }
  /// Where diagnostics that are not a single error line go (compiler messages).
  std::ostream& err() { return err_; }
  /// The job's context; lives as long as this CommandEnv. Ctrl-C cancels it.
  /// `fallback_threads` applies when --threads was not given (e.g. a job file's own setting; 0:
  /// all cores). Only the first call creates the context.
  RunContext& context(int fallback_threads = 0);
  /// Prints a status line to stderr unless --quiet.
  void note(const std::string& text) const;

 private:
  const GlobalOptions& globals_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<ProgressSink> sink_;
  std::unique_ptr<RunContext> context_;
};

using CommandRegistrar = void (*)(CLI::App& app, CommandEnv& env);

void register_mesh_info(CLI::App& app, CommandEnv& env);
void register_heightmap(CLI::App& app, CommandEnv& env);
void register_relief(CLI::App& app, CommandEnv& env);
void register_toolpath(CLI::App& app, CommandEnv& env);
void register_inspect(CLI::App& app, CommandEnv& env);
void register_openfl(CLI::App& app, CommandEnv& env);
void register_voxel(CLI::App& app, CommandEnv& env);

/// Runs the program: parses argv, runs the chosen subcommand, prints errors as
/// "fabforge: error: <message>". Returns the exit status: 0 success, 2 usage error,
/// 1 input or runtime error.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fabforge::cli
