target_sources(berth_runtime PRIVATE
  rootfs.cpp
)
