# qcow2 driver tests (tests/test_qcow2_*.c): interop with qemu-img/qemu-io
# (skipped, exit 77, when they are not installed). Included from qcow2/CMakeLists.txt.
foreach(t read write snapshot corrupt inflight)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/test_qcow2_${t}.c)
    vmm_unit_test(NAME test_qcow2_${t} SOURCES ${CMAKE_SOURCE_DIR}/tests/test_qcow2_${t}.c
                  ${CMAKE_SOURCE_DIR}/tests/qcow2_test_util.c LIBS vmm_qcow2 vmm_block)
    # qemu-img round trips and fsyncs: slow on a loaded machine, more under ASan.
    set_tests_properties(test_qcow2_${t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1800)
  endif()
endforeach()
