# Cgroup managers (v1, v2, hybrid) and the v2 device eBPF program: a library
# of its own so that its tests link only what they use.
add_library(berth_runtime_cgroup STATIC
  cgroup.cpp
  cgroup_common.cpp
  cgroup_v1.cpp
  cgroup_v2.cpp
  cgroup_hybrid.cpp
  cgroup_stats.cpp
  devices_bpf.cpp
)
target_link_libraries(berth_runtime_cgroup PUBLIC berth_oci)
target_link_libraries(berth_runtime PUBLIC berth_runtime_cgroup)

if(BERTH_TESTS)
  # Fake cgroupfs trees in a temp dir: no root needed.
  berth_add_tests(berth_cgroup_tests
    SOURCES cgroup_fake_test.cpp cgroup_devices_test.cpp
    LIBS berth_runtime_cgroup)
  # The real machine's cgroups and bpf(2); skips where the kernel refuses.
  berth_add_tests(berth_cgroup_root_tests ROOT
    SOURCES cgroup_root_test.cpp
    LIBS berth_runtime_cgroup)
endif()
