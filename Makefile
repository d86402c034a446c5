# Two entry points: `make run` (install, then open the dashboard) and `make test` (install, then run the tests).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 espeak-ng sox tmux
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test lint system-packages

system-packages:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); }

$(VENV)/.installed: pyproject.toml training/ovos-skills.txt
	$(MAKE) system-packages
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps -r training/ovos-skills.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/car-assistant

test: install
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 scripts/virtual-mic.sh $(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check .
