#!/usr/bin/env bash
# The embedding tests: the shell blocks of docs/embedding-cmake.md, each run as written from the
# root of the checkout, then checks of what it made. Each block builds tests/embedding/consumer
# (a project outside this tree) against the emulator one way and runs it: an Emulator in its
# process on free ports, then the cmk-emulator binary its build found.
#   run_embedding.sh add-subdirectory   add_subdirectory(<source tree>)
#   run_embedding.sh fetchcontent       FetchContent_Declare(cmk_emulator SOURCE_DIR <source tree>)
#   run_embedding.sh find-package       cmake --install build --strip, then find_package(cmk_emulator)
#   run_embedding.sh deb                cpack -G DEB; Depends; dpkg --root into a scratch root; the binary
# Environment (set by CMakeLists.txt): CMK_SOURCE_DIR, CMK_BUILD_DIR (the project's build tree, built).
# The blocks say `build`: when CMK_BUILD_DIR is not <source>/build, they run from a copy of the
# root (symlinks) whose build/ is CMK_BUILD_DIR. Everything they make goes under a temporary
# folder (TMPDIR for their mktemp), removed at the end.
#
# add-subdirectory and fetchcontent compile the whole library again, so they reuse the objects of
# the project's build through ccache: scripts/test configures the build with the ccache launcher,
# and these tests give the consumer the same launcher, compiler and build type (environment
# variables CMake reads at the first configure), so each library object is a cache hit. When the
# build does not use ccache they are skipped (exit 77), unless CMK_EMBEDDING_COLD=1.
set -euo pipefail

block="${1:?usage: run_embedding.sh add-subdirectory|fetchcontent|find-package|deb}"
src="$(cd "${CMK_SOURCE_DIR:?}" && pwd)"
build="$(cd "${CMK_BUILD_DIR:?}" && pwd)"
doc="$src/docs/embedding-cmake.md"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/cmk-embedding-$block-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

step() { printf '[embedding %s] %s\n' "$block" "$*"; }
die() { printf '[embedding %s] FAILED: %s\n' "$block" "$*" >&2; exit 1; }
cache_value() {  # cache_value NAME: the value of NAME in the project's CMakeCache.txt
  sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -1
}
depends_on() {  # depends_on "DEPENDS FIELD" PACKAGE: PACKAGE is one of the field's packages
  tr ',|' '\n\n' <<<"$1" | sed 's/^ *//; s/[ (].*//' | grep -qxF "$2"
}
since() { echo "$(( $(date +%s) - $1 )) s"; }

# The block's text: the fenced block right below the marker with id=$block.
text="$(awk -v id="$block" '
  /^<!-- docs-test:/ { marked = ($0 ~ ("id=" id "( |-->)")); next }
  marked && /^```/ { if (inside) exit; inside = 1; next }
  inside { print; next }
  { marked = 0 }' "$doc")"
[ -n "$text" ] || die "no block with id=$block in $doc"

# Where the block runs: the checkout's root, or a copy of it whose build/ is the build tree.
if [ "$build" = "$src/build" ]; then
  root="$src"
else
  root="$scratch/root"
  mkdir -p "$root"
  for f in "$src"/* "$src"/.[!.]*; do
    name="$(basename "$f")"
    [ -e "$f" ] && [ "$name" != build ] && ln -s "$f" "$root/$name"
  done
  ln -s "$build" "$root/build"
fi

launcher="$(cache_value CMAKE_CXX_COMPILER_LAUNCHER)"
case "$block" in
  add-subdirectory | fetchcontent)
    if [[ "$launcher" != *ccache* ]] && [ "${CMK_EMBEDDING_COLD:-0}" != 1 ]; then
      echo "skipped: $build is not built through ccache, so this would compile the whole library"
      echo "again (~15 min on 2 cores). scripts/test configures new build trees with ccache;"
      echo "CMK_EMBEDDING_COLD=1 builds anyway."
      exit 77
    fi
    # The library's objects as the project's build made them: same compiler, build type and
    # launcher (only the library's source tree must be the same path, hence the checkout's root).
    [ "$root" = "$src" ] || root="$src"
    export CXX="$(cache_value CMAKE_CXX_COMPILER)"
    export CMAKE_BUILD_TYPE="$(cache_value CMAKE_BUILD_TYPE)"
    [ -n "$launcher" ] && export CMAKE_CXX_COMPILER_LAUNCHER="$launcher"
    ;;
esac

# Run the block as written, in this shell (so its variables, $work, are there to check after).
step "running the block id=$block of docs/embedding-cmake.md from $root"
printf '%s\n' "$text" | sed 's/^/    /'
export TMPDIR="$scratch"
export CCACHE_STATSLOG="$scratch/ccache-stats"
t0=$(date +%s)
cd "$root"
out="$scratch/block.log"
set +e
(set -euo pipefail; eval "$text"; echo "work=$work" >"$scratch/vars") >"$out" 2>&1 </dev/null
rc=$?
set -e
unset CCACHE_STATSLOG
if [ $rc -ne 0 ]; then
  cat "$out" >&2
  die "the block failed (exit $rc)"
fi
# shellcheck disable=SC1091
source "$scratch/vars"
grep -E '^(in process|binary) ' "$out" | sed 's/^/    /' || true
if [ -f "$scratch/ccache-stats" ]; then
  compiles=$(grep -c '^# ' "$scratch/ccache-stats" || true)
  hits=$(grep -cE '^(direct|preprocessed)_cache_hit' "$scratch/ccache-stats" || true)
  step "block done in $(since "$t0") (ccache: $hits of $compiles compiles were hits)"
else
  step "block done in $(since "$t0")"
fi

# start_binary EXE: on free ports, its ready line, its health endpoint, a clean stop on SIGTERM.
start_binary() {
  local exe="$1" fifo="$scratch/ready" pid line port
  mkfifo "$fifo"
  "$exe" --https-port 0 --http-port 0 --certs-dir "$scratch/certs" --log-level warn >"$fifo" &
  pid=$!
  exec 3<"$fifo"
  if ! read -r -t 60 line <&3; then
    kill -9 "$pid" 2>/dev/null || true
    die "$exe printed no ready line in 60 s"
  fi
  case "$line" in *'"event":"ready"'*) ;; *) kill -9 "$pid"; die "$exe printed: $line" ;; esac
  port="$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' <<<"$line")"
  curl -fsS --noproxy '*' "http://127.0.0.1:$port/_emulator/health" | grep -q '"status":"ok"' ||
    { kill -9 "$pid"; die "$exe: no health on its http port $port"; }
  kill -TERM "$pid"
  wait "$pid" || die "$exe did not stop cleanly on SIGTERM"
  exec 3<&-
  step "$exe: ready line, health ok, stopped on SIGTERM"
}

case "$block" in
  add-subdirectory | fetchcontent)
    cache="$work/consumer/CMakeCache.txt"
    # What the emulator must not bring into a project that embeds it.
    if grep -q '^Catch2_DIR:' "$cache"; then die "the consumer's configure looked for Catch2"; fi
    for t in cmk-tests bench-filter-cost json_input_replay; do
      if grep -q "^$t:" "$work/consumer/Makefile" 2>/dev/null; then die "the consumer has the target $t"; fi
    done
    if grep -rq -- '-Werror' "$work/consumer/CMakeFiles/consumer.dir/flags.make"; then
      die "the emulator's -Werror reached the consumer's own target"
    fi
    step "no tests, benches or Catch2 came along; the consumer's flags have no -Werror"
    ;;

  find-package)
    prefix="$work/prefix"
    config="$(find "$prefix" -name cmk_emulatorConfig.cmake)"
    [ -n "$config" ] || die "no cmk_emulatorConfig.cmake under the prefix"
    for f in bin/cmk-emulator include/cmk_emulator/emulator.h include/cmk_emulator/arm/arm_api.h \
             share/cmk-emulator/fixtures/default.json share/doc/cmk-emulator/embedding-cmake.md; do
      [ -e "$prefix/$f" ] || die "cmake --install did not install $f"
    done
    lib="$(find "$prefix" -name 'libcmk_emulator*.a')"
    step "installed: library $(du -m "$lib" | cut -f1) MB, binary $(du -m "$prefix/bin/cmk-emulator" | cut -f1) MB, $(find "$prefix/include" -name '*.h' | wc -l) headers"
    grep -q "cmk_emulator::cmk-emulator" "$(dirname "$config")/cmk_emulatorTargets.cmake" ||
      die "the package exports no cmk_emulator::cmk-emulator"
    grep -qF "CMK_EMULATOR_BINARY=\\\"$prefix/bin/cmk-emulator\\\"" "$work/consumer/CMakeFiles/consumer.dir/flags.make" ||
      die "the consumer did not take the installed binary"
    ;;

  deb)
    runtime="$(ls "$work"/cmk-emulator_*.deb)"
    dev="$(ls "$work"/cmk-emulator-dev_*.deb)"
    step "packages: $(basename "$runtime") ($(du -k "$runtime" | cut -f1) KB), $(basename "$dev") ($(du -k "$dev" | cut -f1) KB)"
    depends="$(dpkg-deb -f "$runtime" Depends)"
    step "cmk-emulator Depends: $depends"
    for p in libc6 libstdc++6 libssl3 libsqlite3-0 libre2-9 libcpp-httplib0.11; do
      depends_on "$depends" "$p" || die "cmk-emulator Depends lacks $p"
    done
    dev_depends="$(dpkg-deb -f "$dev" Depends)"
    for p in cmk-emulator libssl-dev libcpp-httplib-dev nlohmann-json3-dev libsqlite3-dev libre2-dev; do
      depends_on "$dev_depends" "$p" || die "cmk-emulator-dev Depends lacks $p"
    done
    [ -n "$(dpkg-deb -f "$runtime" Maintainer)" ] || die "no Maintainer"
    # The dependencies resolve here (apt's simulation: nothing is installed on the system).
    if ! apt-get install -s -q "$runtime" "$dev" >"$scratch/apt.log" 2>&1; then
      cat "$scratch/apt.log" >&2
      die "apt cannot resolve the packages' dependencies"
    fi
    # Installed by dpkg into a scratch root with its own database (the dependencies are on the
    # system, not in the scratch root: --force-depends).
    droot="$scratch/dpkg-root"
    mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates"
    touch "$droot/var/lib/dpkg/status"
    if ! dpkg --root="$droot" --log=/dev/null --force-not-root --force-depends --install "$runtime" "$dev" \
        >"$scratch/dpkg.log" 2>&1; then
      cat "$scratch/dpkg.log" >&2
      die "dpkg --root --install failed"
    fi
    for p in cmk-emulator cmk-emulator-dev; do
      dpkg --root="$droot" -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || die "dpkg did not install $p"
    done
    for f in usr/bin/cmk-emulator usr/include/cmk_emulator/emulator.h usr/share/doc/cmk-emulator/embedding-cmake.md; do
      [ -e "$droot/$f" ] || die "the packages did not install /$f"
    done
    [ -n "$(find "$droot/usr/lib" -name cmk_emulatorConfig.cmake)" ] || die "no CMake package under /usr/lib"
    step "dpkg --root installed both ($(du -sm "$droot/usr" | cut -f1) MB under /usr)"
    "$droot/usr/bin/cmk-emulator" --version | grep -q . || die "--version printed nothing"
    start_binary "$droot/usr/bin/cmk-emulator"
    ;;
esac
step "passed"
