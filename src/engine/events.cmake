# The event bus behind `docker events`.
target_sources(berth_engine PRIVATE ${CMAKE_CURRENT_LIST_DIR}/events.cpp)
if(BERTH_TESTS)
  berth_add_tests(berth_engine_events_tests SOURCES ${CMAKE_CURRENT_LIST_DIR}/events_test.cpp LIBS berth_engine)
endif()
