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

# The shared-memory recipes (ring, queue, broadcast, durable), run as the
# README's two-terminal steps by tests/support/example_shm.sh.
foreach(recipe pingpong slow_consumer broadcast durable_resume)
  add_test(NAME example_${recipe}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/support/example_shm.sh ${recipe}
            $<TARGET_FILE_DIR:example_ring_pingpong> $<TARGET_FILE:ipcx_tool>)
  set_tests_properties(example_${recipe} PROPERTIES LABELS integration TIMEOUT 120)
endforeach()
# The pool examples: each checks its pooled result against its own
# single-process result (exit 1 when they differ) and prints both times;
# wordcount's count is also checked against wc -w.
add_test(NAME example_parallel_primes
  COMMAND sh -c "$<TARGET_FILE:example_parallel_primes> 300000 2 | tee /dev/stderr | grep -qx 'primes below 300000: 25997'")
set_tests_properties(example_parallel_primes PROPERTIES LABELS integration TIMEOUT 120)
add_test(NAME example_wordcount
  COMMAND sh -c "f=$(mktemp) && trap 'rm -f $f' EXIT && seq 1 700000 | sed 's/7/ 7 /g' > $f && w=$(wc -w < $f) && $<TARGET_FILE:example_wordcount> $f 2 | tee /dev/stderr | grep -qx \"words: $w\""
  )
set_tests_properties(example_wordcount PROPERTIES LABELS integration TIMEOUT 120)
