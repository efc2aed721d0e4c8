# ---- the assistant: Rasa model, data validation, run, chat --------------------------------
# Included by the top-level Makefile (PY, PY_RASA, RASA, VENV, VENV_RASA, PIP_FLAGS).

# Our `catalogue` package has the same import name as a dependency of Rasa's (spaCy's
# `catalogue`) and would hide it. So .venv-rasa never sees the project on its path: no
# PYTHONPATH, and `rasa` (which puts its working directory on sys.path) runs in an empty
# directory with absolute paths.
RASA_ENV  := env -u PYTHONPATH
RASA_CWD  := build/rasa
RASA_IN   := mkdir -p $(RASA_CWD) && cd $(RASA_CWD) && $(RASA_ENV)
MODEL     := models/zijwijzer.tar.gz
TRAIN_FINGERPRINT := build/train-inputs.sha256

.PHONY: FORCE chat nlu-eval

# Moves $1.tmp over $1 only when the content differs: the recipes below run every time,
# but what depends on their output is rebuilt only when something really changed.
define replace_if_changed
if cmp -s $1.tmp $1; then rm -f $1.tmp; else mv $1.tmp $1; fi
endef

# Hash of everything the model is trained from, file names included (a deleted data file
# counts as a change), so make decides when to train.
$(TRAIN_FINGERPRINT): $(VENV_RASA)/.installed FORCE
	@mkdir -p $(@D)
	@sha256sum config.yml domain.yml $$(find data -type f -name '*.yml' | LC_ALL=C sort) \
		requirements/rasa.lock | sha256sum > $@.tmp
	@$(call replace_if_changed,$@)

# --force: make has already decided that an input changed. RASA_MAX_CACHE_SIZE=0: no
# training cache (it would live in ./.rasa and could reuse features of an older pipeline).
$(MODEL): $(TRAIN_FINGERPRINT)
	@mkdir -p $(@D)
	@echo "Training the Rasa model, a few minutes (log: build/train.log)"
	@$(RASA_IN) RASA_MAX_CACHE_SIZE=0 $(abspath $(RASA)) train --force \
		--fixed-model-name zijwijzer --config $(CURDIR)/config.yml \
		--domain $(CURDIR)/domain.yml --data $(CURDIR)/data --out $(CURDIR)/$(@D) \
		> $(CURDIR)/build/train.log 2>&1 || { tail -40 $(CURDIR)/build/train.log; exit 1; }
	@echo "Trained $@"

train: $(MODEL)

# Fails on errors and on the warnings Rasa lets fail (story conflicts, ...). Rasa 3.6 also
# warns that form questions and responses sent from actions are "not used in any story or
# rule": it cannot see them; tests/actions/test_domain.py checks those names instead.
validate: $(VENV_RASA)/.installed
	$(RASA_IN) $(abspath $(RASA)) data validate --fail-on-warnings \
		--config $(CURDIR)/config.yml --domain $(CURDIR)/domain.yml --data $(CURDIR)/data

# NLU on a fixed-seed 80/20 held-out split (tools/nlu_eval.py): trains an NLU-only model
# on the training part (2-3 minutes on 2 cores for ~800 examples), parses the rest, writes
# build/nlu-eval/report.json and fails when intent macro-F1 is below 0.90. With data,
# config and pipeline unchanged it reuses the last run's parses (about 1 s).
nlu-eval: $(VENV_RASA)/.installed $(VENV)/.installed
	@$(PY) tools/nlu_eval.py

# The integration tests talk to the trained model.
pytest-engine: train

run: setup catalogue train
	@$(PY) tools/assistant.py

chat: $(VENV)/.installed
	@$(PY) tools/chat.py
