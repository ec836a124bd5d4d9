ipcx_test(test_core SOURCES unit/test_core.c LABELS unit TIMEOUT 60)
