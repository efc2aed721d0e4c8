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

.PHONY: FORCE chat nlu-generated nlu-eval

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

# NLU generated from the same terms: synonyms (every title and synonym -> the item's id) and
# lookup tables per entity, so that a new catalogue item needs no hand-written NLU. Not in
# git (data/nlu/generated/ is ignored): made here before validate and train, on every
# checkout. The generator writes only when the content changes; the touch keeps make quiet.
NLU_GENERATED := data/nlu/generated/catalogue.yml

$(NLU_GENERATED): $(NLP_DIR)/terms.json tools/generate_nlu.py bot/nlp/build_pipeline.py \
		$(VENV)/.installed
	@$(PY) tools/generate_nlu.py --terms $< --out $@
	@touch $@

nlu-generated: $(NLU_GENERATED)

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
$(TRAIN_FINGERPRINT): $(NLP_STAMP) $(NLU_GENERATED) FORCE
	@sha256sum config.yml domain.yml $$(find data -type f -name '*.yml' | LC_ALL=C sort) \
		$(NLP_DIR)/terms.json bot/nlp/build_pipeline.py catalogue/numberwords.py \
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
validate: $(VENV_RASA)/.installed $(NLU_GENERATED)
	$(RASA_IN) $(abspath $(RASA)) data validate --fail-on-warnings \
		--config $(CURDIR)/config.yml --domain $(CURDIR)/domain.yml --data $(CURDIR)/data

# NLU on a fixed-seed 80/20 held-out split (tools/nlu_eval.py): trains an NLU-only model
# on the training part (2-3 minutes on 2 cores for ~800 examples), parses the rest, writes
# build/nlu-eval/report.json and fails when intent macro-F1 is below 0.90. With data,
# config and pipeline unchanged it reuses the last run's parses (about 1 s).
nlu-eval: $(NLP_STAMP) $(NLU_GENERATED) $(VENV)/.installed
	@$(PY) tools/nlu_eval.py

# The integration tests talk to the trained model.
pytest-engine: train

run: setup catalogue train
	@$(PY) tools/assistant.py

chat: $(VENV)/.installed
	@$(PY) tools/chat.py
