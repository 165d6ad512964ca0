target_sources(berth_image PRIVATE reference.cpp)
if(BERTH_TESTS)
  berth_add_tests(berth_image_reference_tests SOURCES reference_test.cpp LIBS berth_image)
endif()
