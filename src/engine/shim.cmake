# berth_shim: what the berth-shim process links (cmd/berth-shim). Only
# berth_base and berth_sys, so the static shim stays small.
add_library(berth_shim STATIC
  shim.cpp
  shim_control.cpp
  shim_exit.cpp
  shim_log.cpp
  shim_spawn.cpp
)
target_link_libraries(berth_shim PUBLIC berth_base berth_sys)

if(BERTH_TESTS)
  berth_add_tests(berth_shim_tests SOURCES shim_log_test.cpp shim_exit_test.cpp LIBS berth_shim)
endif()
