set(BERTH_CGROUP_SOURCES
  cgroup.cpp
  cgroup_common.cpp
  cgroup_v1.cpp
  cgroup_v2.cpp
  cgroup_hybrid.cpp
  cgroup_stats.cpp
  devices_bpf.cpp
)
target_sources(berth_runtime PRIVATE ${BERTH_CGROUP_SOURCES})

if(BERTH_TESTS)
  # The tests compile the cgroup sources themselves rather than link all of
  # berth_runtime: they need nothing else from it.
  # Fake cgroupfs trees in a temp dir: no root needed.
  berth_add_tests(berth_cgroup_tests
    SOURCES ${BERTH_CGROUP_SOURCES} cgroup_fake_test.cpp cgroup_devices_test.cpp
    LIBS berth_oci)
  # The real machine's cgroups and bpf(2); skips where the kernel refuses.
  berth_add_tests(berth_cgroup_root_tests ROOT
    SOURCES ${BERTH_CGROUP_SOURCES} cgroup_root_test.cpp
    LIBS berth_oci)
endif()
