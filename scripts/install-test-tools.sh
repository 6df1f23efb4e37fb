#!/usr/bin/env bash
# Installs the Debian tools that the test suite drives, when any is missing.
set -euo pipefail
needed=()
need() { command -v "$1" >/dev/null 2>&1 || needed+=("$2"); }
need cmake cmake
# The Autopsy module's tests run it under Jython 2.7 against stub Autopsy classes compiled with javac.
need jython jython
need javac default-jdk-headless
need mkfs.fat dosfstools   # disk-image tests: a FAT file system
need mcopy mtools          # ... filled and a file deleted without mounting
need mke2fs e2fsprogs      # ... an ext4 file system (mke2fs -d, debugfs rm)
need ewfacquire ewf-tools  # ... and an E01 acquired from a raw image
need hashdeep hashdeep     # scan tests: a real hashdeep known-file list for --known-hashes
if ((${#needed[@]})); then
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${needed[@]}"
fi
