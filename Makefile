# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
OPENCV := "opencv-python-headless>=4.8,<4.12"

.PHONY: run test test-fast lint models soak bench browser clean-venv

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

# Headless Chromium drives the http display test; installed from Debian where we may (root + apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "note: chromium not installed; the browser test of the http display will skip"; }

test: $(VENV)/.full browser
	$(VENV)/bin/ruff check edge convert tests
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The edit-run loop: the suite without the `slow` and `browser` tests (markers in pyproject.toml). `make test` is the
# whole suite, and what CI runs.
test-fast: $(VENV)/.full
	$(PY) -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

lint: $(VENV)/.full
	$(VENV)/bin/ruff check edge convert tests

# Retrain and re-export every shipped model from ../shared/data (or $$EDGETRACK_DATA).
models: $(VENV)/.full
	$(VENV)/bin/edgetrack train shape
	$(VENV)/bin/edgetrack train boxmap
	$(VENV)/bin/edgetrack train peers
	$(VENV)/bin/edgetrack train boxmap --detector dlib   # the reference detector's own mapping (workstation peer, comparisons only)
	$(VENV)/bin/edgetrack train texture
	$(VENV)/bin/edgetrack train expressions
	$(VENV)/bin/edgetrack train masks
	OMP_NUM_THREADS=1 $(VENV)/bin/edgetrack train clm  # every CLM expert type to build/clm/, the joint ones to models/; 1 BLAS thread, as the shipped files were built
	$(VENV)/bin/edgetrack train cnn --big-rotation 0.5 --no-detector-boxes   # 96 px, two style heads, 70 epochs (~25 min on one core)
	$(VENV)/bin/edgetrack train cnn --init build/cnn/cnn_landmarks.pt --qat --mirror-heads --epochs 30 --lr 5e-4 --out build/cnn/cnn_landmarks_qat1.pt
	$(VENV)/bin/edgetrack train cnn --init build/cnn/cnn_landmarks_qat1.pt --qat --mirror-heads --epochs 15 --lr 2e-4 --seed 1 --out build/cnn/cnn_landmarks_qat.pt
	$(VENV)/bin/edgetrack export cnn --checkpoint build/cnn/cnn_landmarks_qat.pt
	$(VENV)/bin/edgetrack train detector   # our face detector (the default): 68-point and aflw21 faces, network (~1.5 h on one core), int8 export, second look
	$(VENV)/bin/edgetrack train boxmap --detector cnn
	$(VENV)/bin/edgetrack train emotion   # after the CNN: KDEF's points are fitted with the shipped landmarker

bench: $(VENV)/.device
	$(VENV)/bin/edgetrack bench --source synthetic --frames 1000 --json bench.json

# 20,000 synthetic frames: faces coming, going and crossing, camera dropouts; exits 1 on a leak or growing lag.
soak: $(VENV)/.device
	nice -n 10 $(VENV)/bin/edgetrack bench --soak --frames 20000 --json soak.json

clean-venv:
	rm -rf $(VENV)
