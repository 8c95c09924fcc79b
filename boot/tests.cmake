# Boot loader unit tests (host-side, no KVM): synthetic kernels in temp files.
foreach(t linux elf multiboot files)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/test_boot_${t}.c)
    vmm_unit_test(NAME test_boot_${t} SOURCES ${CMAKE_SOURCE_DIR}/tests/test_boot_${t}.c LIBS vmm_boot vmm_base)
  endif()
endforeach()
# The same loaders on the real test kernel, when guest-tests/linux/build.sh
# has built it (skipped otherwise; building it is the linux label's job).
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/test_boot_real.c)
  vmm_unit_test(NAME test_boot_real SOURCES ${CMAKE_SOURCE_DIR}/tests/test_boot_real.c LIBS vmm_boot vmm_base)
  target_compile_definitions(test_boot_real PRIVATE VMM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  set_tests_properties(test_boot_real PROPERTIES SKIP_RETURN_CODE 77)
endif()
# ISO 9660 parser and direct ISO boot (images made by xorriso in the tests).
foreach(t iso9660 isoboot)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
    vmm_unit_test(NAME test_${t} SOURCES ${CMAKE_SOURCE_DIR}/tests/test_${t}.c
      ${CMAKE_SOURCE_DIR}/boot/iso9660.c ${CMAKE_SOURCE_DIR}/boot/isoboot.c
      ${CMAKE_SOURCE_DIR}/boot/isoboot_cfg.c LIBS vmm_base)
    set_tests_properties(test_${t} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()
