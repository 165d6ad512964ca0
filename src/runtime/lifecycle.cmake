target_sources(berth_runtime PRIVATE
  state.cpp
)
