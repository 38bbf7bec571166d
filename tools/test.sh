#!/usr/bin/env bash
# Installs dependencies, builds and runs every test suite, in three configurations:
#   normal  RelWithDebInfo, -Werror: all tests
#   asan    ASan+UBSan: all tests
#   tsan    TSan: all tests (the journal's commit thread runs in most suites, not only
#           in the ones labelled `concurrent`); suppressions in tools/tsan.supp; the
#           mount-level tree copy uses /usr/include/linux instead of /usr/include
# Usage: tools/test.sh [normal] [asan] [tsan]   (default: all three)
# Ends with one line "total: N passed, M failed"; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

configs=("$@")
((${#configs[@]})) || configs=(normal asan tsan)
jobs=$(nproc)

tools/install-deps.sh || exit 1

total_pass=0
total_fail=0
failed_configs=()

# run_config NAME BUILD_DIR CMAKE_ARGS CTEST_ARGS
run_config() {
  local name=$1 dir=$2 cmake_args=$3 ctest_args=$4
  echo "=== [$name] configure and build in $dir"
  # shellcheck disable=SC2086
  if ! cmake -S . -B "$dir" -DFOLIOFS_WERROR=ON $cmake_args >"$dir.configure.log" 2>&1 ||
     ! cmake --build "$dir" -j"$jobs" 2>&1 | tail -n 40; then
    cat "$dir.configure.log" 2>/dev/null | tail -n 40
    echo "=== [$name] BUILD FAILED"
    failed_configs+=("$name(build)")
    total_fail=$((total_fail + 1))
    return
  fi
  echo "=== [$name] test"
  local log="$dir/ctest.log"
  # shellcheck disable=SC2086
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" $ctest_args 2>&1 | tee "$log"
  local summary
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
  if [[ -z $summary ]] && grep -q 'No tests were found' "$log"; then
    echo "=== [$name] no tests selected"
    return
  fi
  if [[ -z $summary ]]; then
    echo "=== [$name] no test summary"
    failed_configs+=("$name(no tests)")
    total_fail=$((total_fail + 1))
    return
  fi
  local failed all
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")
  all=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")
  total_pass=$((total_pass + all - failed))
  total_fail=$((total_fail + failed))
  ((failed == 0)) || failed_configs+=("$name")
  # The crash suite prints how many crash states it checked; ctest keeps the
  # output of passing tests only in LastTest.log.
  grep -h '^\[crash\]' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null |
    sed "s/^/=== [$name] /" || true
}

for c in "${configs[@]}"; do
  case $c in
    normal) run_config normal build "" "" ;;
    asan) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
            run_config asan build-asan "-DFOLIOFS_SANITIZE=address -DCMAKE_BUILD_TYPE=Debug" "" ;;
    tsan) FOLIOFS_TREE_SOURCE=/usr/include/linux TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tools/tsan.supp \
            run_config tsan build-tsan "-DFOLIOFS_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug" "" ;;
    *) echo "unknown configuration '$c' (normal, asan, tsan)"; exit 2 ;;
  esac
done

if ((${#failed_configs[@]})); then
  echo "=== failing configurations: ${failed_configs[*]}"
fi
echo "total: ${total_pass} passed, ${total_fail} failed"
((total_fail == 0))
