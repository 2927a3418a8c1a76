#include "app.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>

#include "fabforge/core/error.hpp"
#include "fabforge/core/version.hpp"

namespace fabforge::cli {

namespace {

constexpr CommandRegistrar kCommands[] = {
    register_heightmap, register_mesh_info, register_relief, register_toolpath, register_inspect, register_openfl, register_voxel,
};

// Ctrl-C sets the running job's cancellation flag; stages notice it between steps, throw, and
// the half-written outputs are removed on the way out. A second Ctrl-C kills at once.
std::atomic<std::atomic<bool>*> g_cancel_flag{nullptr};

extern "C" void on_interrupt(int) {
  std::atomic<bool>* flag = g_cancel_flag.load();
  if (flag && !flag->load()) {
    flag->store(true);
    return;
  }
  std::signal(SIGINT, SIG_DFL);
  std::raise(SIGINT);
}

int exit_code_for(ErrorKind kind) { return kind == ErrorKind::usage ? 2 : 1; }

}  // namespace

RunContext& CommandEnv::context(int fallback_threads) {
  if (!context_) {
    sink_ = make_progress_sink(globals_.quiet ? ProgressMode::none : globals_.progress, stderr);
    const int threads = globals_.threads > 0 ? globals_.threads : fallback_threads;
    context_ = std::make_unique<RunContext>(RunOptions{threads, sink_.get()});
    g_cancel_flag.store(&context_->cancel_flag());
    std::signal(SIGINT, on_interrupt);
  }
  return *context_;
}

void CommandEnv::note(const std::string& text) const {
  if (!globals_.quiet) std::fprintf(stderr, "%s\n", text.c_str());
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"fabforge: turns pictures and programs into printer-ready files.", "fabforge"};
  app.set_version_flag("-V,--version", std::string("fabforge ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand

  GlobalOptions globals;
  app.add_flag("-q,--quiet", globals.quiet, "Print no progress or notes, only results and errors");
  app.add_option("-j,--threads", globals.threads, "Worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  const std::map<std::string, ProgressMode> modes{{"auto", ProgressMode::automatic},
                                                  {"bar", ProgressMode::bar},
                                                  {"plain", ProgressMode::plain},
                                                  {"none", ProgressMode::none}};
  app.add_option("--progress", globals.progress, "Progress display: auto (bar on a terminal), bar, plain, none")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case));

  CommandEnv env(globals, out, err);
  for (CommandRegistrar reg : kCommands) reg(app, env);

  int code = 0;
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      out << app.help();
    } catch (const CLI::CallForAllHelp&) {
      out << app.help("", CLI::AppFormatMode::All);
    } catch (const CLI::CallForVersion& e) {
      out << e.what() << "\n";
    }
  } catch (const CLI::ParseError& e) {
    err << "fabforge: error: " << e.what() << "\n";
    err << "Run 'fabforge --help' for usage.\n";
    code = 2;
  } catch (const Error& e) {
    err << "fabforge: error: " << e.what() << "\n";
    code = exit_code_for(e.kind());
  } catch (const InternalError& e) {
    err << "fabforge: error: " << e.what() << "\n";
    code = 1;
  } catch (const std::bad_alloc&) {
    err << "fabforge: error: out of memory\n";
    code = 1;
  } catch (const std::exception& e) {
    err << "fabforge: error: " << e.what() << "\n";
    code = 1;
  }
  g_cancel_flag.store(nullptr);
  return code;
}

}  // namespace fabforge::cli
