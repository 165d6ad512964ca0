if(BERTH_TESTS)
  berth_add_tests(berth_image_store_tests ROOT
    SOURCES content_store_test.cpp manifest_test.cpp layer_store_test.cpp image_store_test.cpp
            archive_test.cpp store_test_util.cpp
    LIBS berth_image PkgConfig::LIBARCHIVE)
endif()
