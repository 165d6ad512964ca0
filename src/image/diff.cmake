target_sources(berth_image PRIVATE diff.cpp changes.cpp tree_walk.cpp)

if(BERTH_TESTS)
  berth_add_tests(berth_image_diff_tests ROOT
    SOURCES diff_test.cpp diff_roundtrip_test.cpp diff_test_util.cpp
    LIBS berth_image PkgConfig::LIBARCHIVE)
endif()
