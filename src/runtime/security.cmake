# Capabilities, seccomp, rlimits, identity, the final exec, terminal, hooks.
# A library of its own (linked into berth_runtime) so that its tests build
# without the rest of the runtime.
add_library(berth_runtime_security STATIC
  capabilities.cpp
  seccomp.cpp
  rlimits.cpp
  identity.cpp
  process_setup.cpp
  terminal.cpp
  hooks.cpp
)
target_link_libraries(berth_runtime_security PUBLIC berth_base berth::seccomp berth::cap)
target_link_libraries(berth_runtime PUBLIC berth_runtime_security)

if(BERTH_TESTS)
  berth_add_tests(berth_security_tests
    SOURCES security_test.cpp hooks_test.cpp
    LIBS berth_runtime_security)
  berth_add_tests(berth_security_root_tests ROOT
    SOURCES security_root_test.cpp
    LIBS berth_runtime_security)
  # Docker's generated config and its seccomp profile, as test inputs.
  target_compile_definitions(berth_security_tests PRIVATE BERTH_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_compile_definitions(berth_security_root_tests PRIVATE BERTH_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
