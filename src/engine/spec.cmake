# Turning a Docker create request into an OCI runtime config (spec_*),
# with Berth's own default seccomp profile and safe user resolution.
target_sources(berth_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/seccomp_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seccomp_profile_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spec_build.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spec_mounts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spec_request.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spec_resources.cpp
  ${CMAKE_CURRENT_LIST_DIR}/user.cpp
)

if(BERTH_TESTS)
  berth_add_tests(berth_engine_spec_tests
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/seccomp_profile_test.cpp
      ${CMAKE_CURRENT_LIST_DIR}/spec_request_test.cpp
      ${CMAKE_CURRENT_LIST_DIR}/spec_test.cpp
      ${CMAKE_CURRENT_LIST_DIR}/user_test.cpp
    LIBS berth_engine)
  # The tests read fixtures from the source tree (tests/fixtures/).
  target_compile_definitions(berth_engine_spec_tests PRIVATE BERTH_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
