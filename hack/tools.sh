#!/usr/bin/env bash
# tools.sh builds and tests the hack/tools module's commands (mkimage,
# cristatus, crismoke, criburst). Everything that needs Go runs on the host, before
# any test node starts: a node has no route to the module proxy, so inside
# one the scripts only use what this built (and `go` itself fails at once).
#
# Usage: hack/tools.sh build|test|path NAME
#   build      build every command into $KUBEADMIN_CACHE/v1.37.2/tools (cached
#              by the content hash of hack/tools and the Go version)
#   test       run the module's unit tests
#   path NAME  print the path of command NAME (building it if needed)
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  build) build_tools && printf '[tools] %s up to date in %s\n' "${TOOL_CMDS[*]}" "$TOOLS" >&2 ;;
  test) cd "$HACK/tools" && go test -count=1 ./... ;;
  path)
    [[ " ${TOOL_CMDS[*]} " == *" ${2:-} "* ]] || { echo "usage: $0 path NAME (one of: ${TOOL_CMDS[*]})" >&2; exit 2; }
    tool "$2"
    ;;
  *) echo "usage: $0 build|test|path NAME" >&2; exit 2 ;;
esac
