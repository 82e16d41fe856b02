# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
OPENCV := "opencv-python-headless>=4.8,<5"

.PHONY: run test lint models soak bench clean-venv

# The device install: numpy, headless OpenCV, a TFLite runtime, numba.
$(VENV)/.device: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24"
	$(PIP) install -e .
	@touch $@

# Everything: device + workstation convert stack + reference landmarkers + dev tools.
# onnx2tf and mediapipe drag in GUI/contrib OpenCV wheels that share the cv2 folder with
# the headless one; remove them and reinstall headless so exactly one cv2 remains.
$(VENV)/.full: $(VENV)/.device
	$(PIP) install -e ".[dev,convert,peers]"
	-$(PY) -m pip uninstall -y -q opencv-python opencv-contrib-python opencv-contrib-python-headless
	$(PIP) install --force-reinstall --no-deps $(OPENCV)
	@touch $@

run: $(VENV)/.device
	$(VENV)/bin/edgetrack run $(ARGS)

test: $(VENV)/.full
	$(VENV)/bin/ruff check edge convert tests
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.full
	$(VENV)/bin/ruff check edge convert tests

# Retrain and re-export every shipped model from ../shared/data (or $$EDGETRACK_DATA).
models: $(VENV)/.full
	$(VENV)/bin/edgetrack train shape
	$(VENV)/bin/edgetrack train boxmap
	$(VENV)/bin/edgetrack train peers
	$(VENV)/bin/edgetrack train texture
	$(VENV)/bin/edgetrack train expressions
	$(VENV)/bin/edgetrack train masks

clean-venv:
	rm -rf $(VENV)
