target_sources(berth_image PRIVATE
  apply.cpp
  apply_entry.cpp
  decompress.cpp
  layer_dir.cpp
)

if(BERTH_TESTS)
  find_package(ZLIB REQUIRED)
  berth_add_tests(berth_image_apply_tests ROOT
    SOURCES apply_test.cpp apply_hostile_test.cpp apply_stream_test.cpp decompress_test.cpp apply_test_util.cpp
    LIBS berth_image PkgConfig::LIBARCHIVE PkgConfig::ZSTD ZLIB::ZLIB)
endif()
