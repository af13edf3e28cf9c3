#!/usr/bin/env bash
# Installs the two coding agents the agent tests drive through the gateway,
# Claude Code and Codex CLI, from npm at pinned versions, into a cache
# directory of their own (not the global npm prefix), and prints the path of
# each command:
#
#   claude=/home/me/.cache/switchyard/agents/node_modules/.bin/claude
#   codex=/home/me/.cache/switchyard/agents/node_modules/.bin/codex
#
# Idempotent and quick when the pinned versions are already there: npm is
# not run at all then. SWITCHYARD_AGENTS_DIR picks another directory
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/agents); the tests in
# internal/agents read the same variable. Needs node and npm (Debian:
# apt-get install nodejs npm), and the npm registry.
set -euo pipefail

claude_version=2.1.332
codex_version=0.171.0

dir=${SWITCHYARD_AGENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/agents}
mkdir -p "$dir"

# installed prints the version npm recorded for a package, or nothing.
installed() {
  local pkg=$dir/node_modules/$1/package.json
  [ -f "$pkg" ] || return 0
  node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true
}

if [ "$(installed @anthropic-ai/claude-code)" != "$claude_version" ] ||
  [ "$(installed @openai/codex)" != "$codex_version" ] ||
  [ ! -x "$dir/node_modules/.bin/claude" ] || [ ! -x "$dir/node_modules/.bin/codex" ]; then
  command -v npm >/dev/null 2>&1 || { echo "agents.sh: npm is needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
  # A package.json of our own keeps npm from climbing to a parent project.
  [ -f "$dir/package.json" ] || echo '{"name":"switchyard-agents","private":true}' >"$dir/package.json"
  # --ignore-scripts is not used: both packages fetch or link their native
  # binary (an optional dependency) at install time.
  npm install --prefix "$dir" --no-audit --no-fund --no-update-notifier --loglevel=error \
    "@anthropic-ai/claude-code@$claude_version" "@openai/codex@$codex_version" >&2
fi

echo "claude=$dir/node_modules/.bin/claude"
echo "codex=$dir/node_modules/.bin/codex"
