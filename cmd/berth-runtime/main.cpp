#include "runtime/cli/commands.h"

int main(int argc, char** argv, char** envp) { return berth::runtime::cli::runtime_main(argc, argv, envp); }
