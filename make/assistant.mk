# ---- the assistant: spaCy pipeline, Rasa model, data validation, run, chat --------------
# Included by the top-level Makefile (PY, PY_RASA, RASA, VENV, VENV_RASA, PIP_FLAGS).

# Our `catalogue` package has the same import name as spaCy's dependency `catalogue` and
# would hide it (spaCy then fails). So .venv-rasa never sees the project on its path: no
# PYTHONPATH, and `rasa` (which puts its working directory on sys.path) runs in an empty
# directory with absolute paths.
RASA_ENV  := env -u PYTHONPATH
RASA_CWD  := build/rasa
RASA_IN   := mkdir -p $(RASA_CWD) && cd $(RASA_CWD) && $(RASA_ENV)
NLP_DIR   := build/nlp
NLP_STAMP := $(NLP_DIR)/.installed
MODEL     := models/zijwijzer.tar.gz
TRAIN_FINGERPRINT := build/train-inputs.sha256

.PHONY: FORCE chat

# Moves $1.tmp over $1 only when the content differs: the recipes below run every time,
# but what depends on their output is rebuilt only when something really changed.
define replace_if_changed
if cmp -s $1.tmp $1; then rm -f $1.tmp; else mv $1.tmp $1; fi
endef

# The catalogue's terms (units, qualifications, routes, funding) for the entity ruler.
# --from-files: from the YAML in the repository, not the database, so that the model is a
# function of the checkout (reproducible) whatever catalogue a local database holds.
$(NLP_DIR)/terms.json: $(VENV)/.installed FORCE
	@mkdir -p $(@D)
	@$(PY) -m catalogue terms --json --from-files > $@.tmp
	@$(call replace_if_changed,$@)

# The Dutch spaCy pipeline, packaged as a wheel and installed into .venv-rasa.
$(NLP_STAMP): $(NLP_DIR)/terms.json bot/nlp/build_pipeline.py catalogue/numberwords.py \
		$(VENV_RASA)/.installed
	@echo "Building the spaCy pipeline nl_zijwijzer (log: $(NLP_DIR)/build.log)"
	@$(RASA_ENV) $(PY_RASA) bot/nlp/build_pipeline.py --terms $< --out $(NLP_DIR) \
		> $(NLP_DIR)/build.log 2>&1 || { cat $(NLP_DIR)/build.log; exit 1; }
	@$(RASA_ENV) $(PY_RASA) -m pip install $(PIP_FLAGS) --no-deps --no-index --force-reinstall \
		$(NLP_DIR)/dist/nl_zijwijzer-*.whl
	@touch $@

# Hash of everything the model is trained from, file names included (a deleted data file
# counts as a change). Rasa's own fingerprint cannot see a rebuilt spaCy pipeline that
# keeps its name, so make decides when to train.
$(TRAIN_FINGERPRINT): $(NLP_STAMP) FORCE
	@sha256sum config.yml domain.yml $$(find data -type f -name '*.yml' | LC_ALL=C sort) \
		$(NLP_DIR)/terms.json bot/nlp/build_pipeline.py catalogue/numberwords.py \
		requirements/rasa.lock | sha256sum > $@.tmp
	@$(call replace_if_changed,$@)

# --force: make has already decided that an input changed. RASA_MAX_CACHE_SIZE=0: no
# training cache (it would live in ./.rasa and could reuse features of an older pipeline).
$(MODEL): $(TRAIN_FINGERPRINT)
	@mkdir -p $(@D)
	@echo "Training the Rasa model, about a minute (log: build/train.log)"
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

# The integration test talks to the trained model.
pytest: train

run: setup catalogue train
	@$(PY) tools/assistant.py

chat: $(VENV)/.installed
	@$(PY) tools/chat.py
