#!/usr/bin/env bash
# The lapse model with pairwise terms against the additive one and against the truth.
#
#   bash benches/pairs.sh [CLIENTS] [WORKDIR]
#
# Books of CLIENTS clients (default 200,000): the usual one and one whose lapse truth adds
# two interactions (`clientele-synth --interaction-lapse`); on each, the default model
# (cross-validation chooses the form and the pairs) against the additive one
# (`[lapse] pairs = 0`): held-out and cross-validated AUC, the truth's AUC, wall time.
set -euo pipefail
exec bash "$(dirname "$0")/against_truth.sh" "${1:-200000}" "${2:-$(mktemp -d)}" \
  --interaction-lapse additive "pairs = 0"
