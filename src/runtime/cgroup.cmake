target_sources(berth_runtime PRIVATE
  cgroup.cpp
)
