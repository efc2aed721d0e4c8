#!/usr/bin/env bash
# Prints the path of the first Python interpreter of one of the given minor versions
# (e.g. "3.12 3.11"), looking on PATH first and then in pyenv's versions.
# Exits 1 with one sentence saying what to install when none is found.
set -u
for want in "$@"; do
  for cand in "python$want" ; do
    if p=$(command -v "$cand" 2>/dev/null) && "$p" -c 'import sys, venv' >/dev/null 2>&1; then
      got=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
      [ "$got" = "$want" ] && { echo "$p"; exit 0; }
    fi
  done
  root=${PYENV_ROOT:-$HOME/.pyenv}
  for p in $(ls -d "$root"/versions/"$want".*/bin/python 2>/dev/null | sort -V -r); do
    "$p" -c 'import venv' >/dev/null 2>&1 && { echo "$p"; exit 0; }
  done
done
echo "No Python $* found on PATH or in pyenv: install one (for example 'pyenv install $1') and run make again." >&2
exit 1
