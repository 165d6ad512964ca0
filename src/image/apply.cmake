target_sources(berth_image PRIVATE apply.cpp decompress.cpp)
