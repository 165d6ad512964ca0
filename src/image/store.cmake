target_sources(berth_image PRIVATE
  archive_import.cpp
  archive_load.cpp
  archive_save.cpp
  content_store.cpp
  image_store.cpp
  layer_store.cpp
  manifest.cpp
)
