#!/usr/bin/env bash
# Make the README tour's screenshots (docs/tour/NN-name.png, 360 px wide, in Thai) from the browser test
# that walks the tour on a freshly seeded demo: run it after changing a page the tour shows.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f docs/tour/*.png
INTAKE_TOUR_SCREENSHOTS="$PWD/docs/tour" .venv/bin/python -m pytest -q -p no:cacheprovider -n 0 \
    tests/browser/test_tour.py
