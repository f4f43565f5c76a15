# The two set-up commands: `make serve` and `make test`. Both install what they need.
.PHONY: serve test lint format bench clean

VENV := .venv
BIN := $(VENV)/bin

serve:
	@scripts/bootstrap.sh
	$(BIN)/ballsy serve

test:
	@scripts/services.sh
	@scripts/bootstrap.sh dev
	@scripts/tools.sh
	@scripts/browser.sh
	@scripts/speech_tools.sh
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

format:
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .venv-tools .pytest_cache .mypy_cache .ruff_cache
