target_sources(berth_runtime PRIVATE
  process_setup.cpp
  terminal.cpp
  hooks.cpp
)
