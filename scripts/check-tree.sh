#!/usr/bin/env bash
# Refuses binaries and databases in the repository: fails, naming them, when
# a tracked or staged file is an executable or object (ELF, Mach-O, PE), a
# SQLite database, a Go test binary (*.test), a database file (*.db,
# *.sqlite), or larger than CHECK_TREE_MAX_BYTES (default 1 MiB; the largest
# recorded transcript is under 300 KB). Every clone downloads what is
# committed, forever.
#
# `make test` and CI run it. To run it before every commit:
#   ln -sf "$PWD/scripts/check-tree.sh" "$(git rev-parse --git-path hooks)/pre-commit"
set -euo pipefail
cd "${1:-.}"
if ! top=$(git rev-parse --show-toplevel 2>/dev/null); then
  echo "check-tree: not in a git work tree; nothing to check" >&2
  exit 0
fi
cd "$top"

max=${CHECK_TREE_MAX_BYTES:-1048576}
bad=()

# Names.
while IFS= read -r f; do
  bad+=("$f: a test binary or database file")
done < <(git ls-files --cached -- '*.test' '*.db' '*.db-journal' '*.db-wal' '*.db-shm' '*.sqlite' '*.sqlite3')

# Sizes of the staged content, which is what a commit would hold, in one
# pass.
while read -r size f; do
  [ "$size" -gt "$max" ] && bad+=("$f: $size bytes, over $max (CHECK_TREE_MAX_BYTES)")
done < <(git ls-files --cached -s | awk '{sub(/^[0-9]+ /, ""); sub(/ [0-9]+\t/, " "); print}' |
  git cat-file --batch-check='%(objectsize) %(rest)')

# Contents: executables and databases hold NUL bytes near the start, which
# is what makes git call a file binary; only those are looked into.
declare -A text=()
while IFS= read -r -d '' f; do text[$f]=1; done < <(git grep --cached -I -l -z -e '' || true)
while IFS= read -r -d '' f; do
  [ -n "${text[$f]:-}" ] && continue
  magic=$(git cat-file blob ":$f" | head -c 16 | od -An -tx1 | tr -d ' \n' || true)
  case "$magic" in
    7f454c46*) bad+=("$f: an ELF binary") ;;
    feedface* | feedfacf* | cefaedfe* | cffaedfe* | cafebabe*) bad+=("$f: a Mach-O binary") ;;
    4d5a*) bad+=("$f: a Windows (PE) binary") ;;
    53514c69746520666f726d6174203300) bad+=("$f: a SQLite database") ;;
  esac
done < <(git ls-files --cached -z)

if [ ${#bad[@]} -gt 0 ]; then
  echo "check-tree: these files do not belong in the repository:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "Remove them from the index (git rm --cached FILE) and, if a build or test makes them, add them to .gitignore." >&2
  exit 1
fi
