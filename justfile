# PathOps appliance. `just --list` shows every recipe.

python := env_var_or_default("PYTHON", "python3")
venv := ".venv"
bin := venv + "/bin"

# Create .venv and install the appliance with its test tools (skipped when pyproject.toml is unchanged).
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x {{bin}}/python ]; then {{python}} -m venv {{venv}}; fi
    stamp={{venv}}/.installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        {{bin}}/pip install --quiet --upgrade pip
        {{bin}}/pip install --quiet -e '.[dev]'
        touch "$stamp"
    fi

# Start the demo: the control plane with the seeded `shop` project on http://127.0.0.1:8765.
demo *ARGS: setup
    {{bin}}/pathops demo {{ARGS}}

# Run the control plane without seeding.
serve *ARGS: setup
    {{bin}}/pathops serve {{ARGS}}

# Run the whole test suite (parallel). Pass pytest arguments to narrow it: just test tests/unit
test *ARGS: setup
    {{bin}}/pytest -n auto --dist loadgroup -p no:cacheprovider {{ARGS}}

# ruff, mypy on appliance/, import-linter layer contracts.
lint: setup
    {{bin}}/ruff check .
    {{bin}}/ruff format --check .
    {{bin}}/mypy appliance
    {{bin}}/lint-imports

# Benchmarks, as ratios against a baseline measured in the same run (and the scenario catalog's wall time).
bench *ARGS: setup
    {{bin}}/python -m bench {{ARGS}}
