# Unit tests of the ACPI/MP table builders, fw_cfg and firmware loading
# (included from boot/CMakeLists.txt; sources in tests/).
set(TT ${CMAKE_SOURCE_DIR}/tests)
vmm_unit_test(NAME test_acpi SOURCES ${TT}/test_acpi.c LIBS vmm_boot)
vmm_unit_test(NAME test_mptable SOURCES ${TT}/test_mptable.c LIBS vmm_boot)
if(EXISTS ${CMAKE_SOURCE_DIR}/devices/fw_cfg.c)
  vmm_unit_test(NAME test_fw_cfg SOURCES ${TT}/test_fw_cfg.c LIBS vmm_devices)
endif()
if(EXISTS ${CMAKE_SOURCE_DIR}/boot/firmware.c AND EXISTS ${CMAKE_SOURCE_DIR}/devices/fw_cfg.c)
  vmm_unit_test(NAME test_firmware SOURCES ${TT}/test_firmware.c LIBS vmm_boot vmm_devices)
endif()
