# Healthchecks (docs/design/health.md): HealthMonitor runs each container's
# check as an exec through its shim; the pure parts are unit tested.
target_sources(berth_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/health.cpp
  ${CMAKE_CURRENT_LIST_DIR}/health_state.cpp)
if(BERTH_TESTS)
  berth_add_tests(berth_engine_health_tests SOURCES ${CMAKE_CURRENT_LIST_DIR}/health_test.cpp LIBS berth_engine)
endif()
