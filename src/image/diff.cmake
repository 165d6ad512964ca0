target_sources(berth_image PRIVATE diff.cpp)
