#!/usr/bin/env bash
# The learning-curve study of issue 13: every arm trains for the same wall time on this machine,
# one after another (so each has both cores), scoring itself on the held-out curve set as it goes.
# Usage: training/learning_curves.sh MINUTES_PER_ARM [ARM ...]   (arms: training/configs/study/*.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?minutes per arm}
shift
arms=("$@")
[ ${#arms[@]} -gt 0 ] || arms=(training/configs/study/*.toml)
for config in "${arms[@]}"; do
    echo "== $(date -u +%H:%M:%S) $config for $minutes min" >&2
    .venv/bin/fxr-forensic model train "$config" --max-minutes "$minutes" --quiet
done
