# Boot loader unit tests (host-side, no KVM): synthetic kernels in temp files.
foreach(t linux elf multiboot files)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/test_boot_${t}.c)
    vmm_unit_test(NAME test_boot_${t} SOURCES ${CMAKE_SOURCE_DIR}/tests/test_boot_${t}.c LIBS vmm_boot vmm_base)
  endif()
endforeach()
