# The README's example, run for real in two processes: keeps the docs true.
add_test(NAME example_region_share
  COMMAND sh -c "n=ex-$$; $<TARGET_FILE:example_region_share> write $n 'hello across processes' && $<TARGET_FILE:example_region_share> read $n | grep -qx 'hello across processes'")
set_tests_properties(example_region_share PROPERTIES LABELS integration TIMEOUT 30)

# The message-passing examples, each pair run against itself over tcp://
# ipc:// and shm:// exactly as examples/README.md tells a person to in two
# terminals (tests/support/example_pair.sh: listener in the background,
# dialer in the foreground, @URL@ a unique address).
# ipcx_example_pair(<test> <transport> <who> <lines> <regex> <listener...> -- <dialer...>)
function(ipcx_example_pair name transport who lines regex)
  add_test(NAME ${name}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/support/example_pair.sh ${transport} ${who} ${lines}
            ${regex} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 60)
endfunction()
foreach(tp tcp ipc shm)
  ipcx_example_pair(example_pushpull_${tp} ${tp} listener 3 "^work item [1-3]$"
    $<TARGET_FILE:example_pushpull> pull @URL@ 3 -- $<TARGET_FILE:example_pushpull> push @URL@ 3)
  ipcx_example_pair(example_reqrep_${tp} ${tp} dialer 2 "^(HELLO|IPCX)$"
    $<TARGET_FILE:example_reqrep> rep @URL@ 2 -- $<TARGET_FILE:example_reqrep> req @URL@ hello ipcx)
  ipcx_example_pair(example_pubsub_${tp} ${tp} dialer+kill 3 "^odd [0-9]+$"
    $<TARGET_FILE:example_pubsub> pub @URL@ -- $<TARGET_FILE:example_pubsub> sub @URL@ odd 3)
endforeach()
