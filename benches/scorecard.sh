#!/usr/bin/env bash
# The binned (scorecard) lapse model against the linear one and against the truth.
#
#   bash benches/scorecard.sh [CLIENTS] [WORKDIR]
#
# Books of CLIENTS clients (default 200,000): the usual one and one whose lapse truth adds
# a threshold and a U-shape (`clientele-synth --nonlinear-lapse`); on each, the default
# model (cross-validation chooses linear or bins, and pairs) against the linear-only one
# (`[lapse] bins = [0]`): held-out and cross-validated AUC, the truth's AUC, wall time.
set -euo pipefail
exec bash "$(dirname "$0")/against_truth.sh" "${1:-200000}" "${2:-$(mktemp -d)}" \
  --nonlinear-lapse linear "bins = [0]"
