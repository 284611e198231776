# Sourced by the bench scripts: the binaries, a generated book and a model, reused when
# WORKDIR already holds them.
#
#   generated_book N WORKDIR   -> $bin, $book, $extract (the book's export date); the
#                                 generator's seed is $BOOK_SEED, default 1
#   trained_model WORKDIR      -> WORKDIR/models/latest, trained on $book if absent
#   python_package WORKDIR [PIP PACKAGE...]
#                              -> $venv (WORKDIR/venv or $CLIENTELE_VENV) with the package
#                                 built by maturin over the compiled tree, and the given
#                                 packages installed

generated_book() {
  local n="$1" work="$2"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
  cargo build -q --release --bins && cargo build -q --release -p clientele-synth
  bin="$CARGO_TARGET_DIR/release"
  book="$work/book"
  if [ ! -f "$book/manifest.json" ]; then
    "$bin/clientele-synth" --clients "$n" --seed "${BOOK_SEED:-1}" --out "$book" --snapshot-months 0 > /dev/null
  fi
  extract="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["export_date"])' \
    "$book/manifest.json")"
}

trained_model() {
  local work="$1"
  if [ ! -s "$work/models/latest" ]; then
    "$bin/clientele-train" --data "$book" --extract-date "$extract" --models "$work/models" \
      --out "$work/out" --no-charts > /dev/null
  fi
}

python_package() {
  local work="$1"
  shift
  venv="${CLIENTELE_VENV:-$work/venv}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "maturin>=1.5,<2" "pyarrow>=15" "$@"
  VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop -q --release --manifest-path python/Cargo.toml
}
