# Container records (berth.db) for the engine.
if(NOT TARGET berth_engine)
  add_library(berth_engine STATIC)
  target_link_libraries(berth_engine PUBLIC berth_oci berth_base)
endif()
target_sources(berth_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/container_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/engine.cpp)
target_link_libraries(berth_engine PUBLIC berth_store berth_image)
if(BERTH_TESTS)
  berth_add_tests(berth_engine_container_tests
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/container_store_test.cpp LIBS berth_engine)
endif()
