# Shared by scripts/run and scripts/test: install what is missing (quietly, idempotently),
# configure and build. Sourced, not executed.
set -euo pipefail

CMK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CMK_BUILD_DIR="${CMK_BUILD_DIR:-$CMK_ROOT/build}"

# Debian packages the build and the tests need (iproute2: `ss`, with which the robustness test
# reads the listeners' backlog; ccache: the compiler launcher, below).
CMK_BUILD_PACKAGES=(build-essential cmake pkg-config libssl-dev libcpp-httplib-dev nlohmann-json3-dev
  libcli11-dev catch2 libsqlite3-dev libre2-dev curl openssl iproute2 ccache)

# Every compile goes through ccache, keyed without the build folder and without -Werror, so that
# another build of the same sources and flags reuses the objects: a rebuild after a clean, and the
# embedding tests, whose consumer projects compile the library again inside their own build
# trees (tests/embedding/run_embedding.sh, docs/embedding-cmake.md).
CMK_CCACHE_LAUNCHER="env;CCACHE_NOHASHDIR=1;CCACHE_IGNOREOPTIONS=-Werror;ccache"

cmk_log() { printf '[cmk] %s\n' "$*" >&2; }

cmk_missing_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  printf '%s\n' "${missing[@]}"
}

cmk_install_packages() {
  local missing
  mapfile -t missing < <(cmk_missing_packages "$@" | sed '/^$/d')
  [ ${#missing[@]} -eq 0 ] && return 0
  cmk_log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local log
  log="$(mktemp)"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    cmk_log "package installation failed"
    return 1
  fi
  rm -f "$log"
}

# cmk_build [extra cmake args...]: configure once, then build; output only on failure.
cmk_build() {
  cmk_install_packages "${CMK_BUILD_PACKAGES[@]}"
  local log
  log="$(mktemp)"
  if [ ! -f "$CMK_BUILD_DIR/CMakeCache.txt" ]; then
    if ! cmake -S "$CMK_ROOT" -B "$CMK_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_COMPILER_LAUNCHER="$CMK_CCACHE_LAUNCHER" "$@" >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; cmk_log "configure failed"; return 1
    fi
  elif ! grep -q '^CMAKE_CXX_COMPILER_LAUNCHER:' "$CMK_BUILD_DIR/CMakeCache.txt"; then
    # A build tree from before the launcher: from now on through ccache (nothing is rebuilt for it).
    if ! cmake -DCMAKE_CXX_COMPILER_LAUNCHER="$CMK_CCACHE_LAUNCHER" "$CMK_BUILD_DIR" >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; cmk_log "configure failed"; return 1
    fi
  fi
  if ! cmake --build "$CMK_BUILD_DIR" -j"$(nproc)" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; cmk_log "build failed"; return 1
  fi
  rm -f "$log"
}

# The real clients the tests drive (tests/clients): Debian's azure-cli and python3-azure (run on
# /usr/bin/python3), python3-jwt (an independent JWT check), python3-pytest (the pytest fixture of
# clients/python, tests/cli/helper_pytest_fixture.sh), and the npm SDKs pinned by
# tests/clients/node/package-lock.json. Node.js and npm come with the machine (NodeSource's
# nodejs, which provides npm and conflicts with Debian's npm package), so Debian's are installed
# only when the commands are missing.
CMK_CLIENT_PACKAGES=(azure-cli python3-azure python3-jwt python3-requests python3-cryptography
  python3-pytest curl)

cmk_setup_clients() {
  cmk_install_packages "${CMK_CLIENT_PACKAGES[@]}"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    cmk_install_packages nodejs npm
  fi
  local dir="$CMK_ROOT/tests/clients/node"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    cmk_log "installing the npm client packages (npm ci in tests/clients/node)"
    local log
    log="$(mktemp)"
    if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; cmk_log "npm ci failed"; return 1
    fi
    rm -f "$log"
  fi
  cmk_setup_dotnet
}

# The C# and PowerShell client scenarios (tests/clients/dotnet, tests/clients/pwsh): the .NET SDK
# comes with the machine (dotnet); PowerShell 7.6.10 as a .NET tool in the build folder (without a
# version the NuGet source hands out 7.7.0, which does not install) and the C# scenario program
# built once into <build>/dotnet-clients (a restore from the machine's NuGet source). Each step
# is skipped when its result is already there and newer than its sources.
cmk_setup_dotnet() {
  command -v dotnet >/dev/null || { cmk_log "dotnet (the .NET SDK 10) is missing"; return 1; }
  local tools="$CMK_BUILD_DIR/tools" log
  log="$(mktemp)"
  if [ "$("$tools/pwsh" -NoProfile -NoLogo -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null)" != 7.6.10 ]; then
    cmk_log "installing PowerShell 7.6.10 (dotnet tool install --tool-path $tools)"
    rm -rf "$tools/pwsh" "$tools/.store/powershell"
    if ! dotnet tool install --tool-path "$tools" PowerShell --version 7.6.10 >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; cmk_log "installing PowerShell failed"; return 1
    fi
  fi
  local src="$CMK_ROOT/tests/clients/dotnet" out="$CMK_BUILD_DIR/dotnet-clients/"
  local dll="${out}bin/Release/CmkClients.dll"
  if [ ! -f "$dll" ] || [ -n "$(find "$src" -newer "$dll" -type f -print -quit)" ]; then
    cmk_log "building the C# client scenarios (dotnet build tests/clients/dotnet)"
    if ! dotnet build "$src/CmkClients.csproj" -c Release --nologo -v q -p:CmkDotnetOut="$out" >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; cmk_log "building the C# client scenarios failed"; return 1
    fi
    touch "$dll"
  fi
  rm -f "$log"
}

# The browser tests of the console (tests/browser, docs/portal.md): Debian's chromium, driven
# headless by playwright-core from npm (pinned by tests/browser/package-lock.json), installed into
# <build>/browser-node so the source tree stays clean. Skipped when already there and current.
cmk_setup_browser() {
  cmk_install_packages chromium
  local src="$CMK_ROOT/tests/browser" dir="$CMK_BUILD_DIR/browser-node" log
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$src/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    cmk_log "installing playwright-core (npm ci in $dir)"
    mkdir -p "$dir"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    log="$(mktemp)"
    if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; cmk_log "npm ci of playwright-core failed"; return 1
    fi
    rm -f "$log"
  fi
}

# Coverage-guided fuzzing (scripts/fuzz, docs/fuzzing.md): Debian's clang 14 and its compiler-rt
# (libFuzzer and the sanitizer runtimes).
CMK_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

cmk_setup_fuzz() {
  cmk_install_packages "${CMK_BUILD_PACKAGES[@]}" "${CMK_FUZZ_PACKAGES[@]}"
}
