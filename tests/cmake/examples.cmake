# The README's example, run for real in two processes: keeps the docs true.
add_test(NAME example_region_share
  COMMAND sh -c "n=ex-$$; $<TARGET_FILE:example_region_share> write $n 'hello across processes' && $<TARGET_FILE:example_region_share> read $n | grep -qx 'hello across processes'")
set_tests_properties(example_region_share PROPERTIES LABELS integration TIMEOUT 30)
