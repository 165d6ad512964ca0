target_sources(berth_runtime PRIVATE
  rootfs.cpp
  mount_options.cpp
  mount_ops.cpp
  safe_path.cpp
  mounts.cpp
  cgroup_mounts.cpp
  devices.cpp
  masked_paths.cpp
  pivot.cpp
  sysctl.cpp
)

if(BERTH_TESTS)
  berth_add_tests(berth_rootfs_tests
    SOURCES mount_options_test.cpp safe_path_test.cpp rootfs_test.cpp sysctl_test.cpp
      rootfs_fake_ops.cpp
    LIBS berth_runtime)
  berth_add_tests(berth_rootfs_root_tests ROOT
    SOURCES rootfs_root_test.cpp
    LIBS berth_runtime)
endif()
