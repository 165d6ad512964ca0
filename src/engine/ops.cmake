# Container operations beyond the lifecycle (top, stats, pause, changes,
# export, commit, prune, resize) and the cgroup reader behind stats and top.
target_sources(berth_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cgroup_stats.cpp
  ${CMAKE_CURRENT_LIST_DIR}/container_ops.cpp
  ${CMAKE_CURRENT_LIST_DIR}/container_stats.cpp
  ${CMAKE_CURRENT_LIST_DIR}/container_commit.cpp)
if(BERTH_TESTS)
  berth_add_tests(berth_engine_ops_tests
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/cgroup_stats_test.cpp ${CMAKE_CURRENT_LIST_DIR}/container_ops_test.cpp
    LIBS berth_engine)
endif()
