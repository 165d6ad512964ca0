# Container records (berth.db) for the engine.
target_sources(berth_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/container_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/engine_exec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/engine_run.cpp)
if(BERTH_TESTS)
  berth_add_tests(berth_engine_container_tests
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/container_store_test.cpp LIBS berth_engine)
endif()
