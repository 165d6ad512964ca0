target_sources(berth_image PRIVATE reference.cpp)
