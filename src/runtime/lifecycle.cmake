target_sources(berth_runtime PRIVATE
  create.cpp
  exec.cpp
  foreground.cpp
  init.cpp
  lifecycle_common.cpp
  namespaces.cpp
  ops.cpp
  self_protect.cpp
  state.cpp
  sync.cpp
  cli/args.cpp
  cli/cmd_control.cpp
  cli/cmd_info.cpp
  cli/cmd_lifecycle.cpp
  cli/main.cpp
)
target_compile_definitions(berth_runtime PRIVATE BERTH_VERSION="${PROJECT_VERSION}")

if(BERTH_TESTS)
  berth_add_tests(berth_lifecycle_tests SOURCES cli/args_test.cpp LIBS berth_runtime)
endif()
