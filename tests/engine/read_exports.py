"""Reads the staff console's exports back with Rasa 3.6 itself, in the engine's runtime.

Run by tests/console/test_exports.py (the exports are app code, made in .venv):
`read_exports.py DOMAIN STORIES NLU` prints the stories read, their events and the NLU examples.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader


def main(domain_path: str, stories_path: str, nlu_path: str) -> None:
    domain = Domain.load(domain_path)
    stories = YAMLStoryReader(domain).read_from_string(Path(stories_path).read_text("utf-8"))
    nlu = RasaYAMLReader().reads(Path(nlu_path).read_text("utf-8"))
    print(len(stories), sum(len(s.events) for s in stories), len(nlu.intent_examples))


if __name__ == "__main__":
    main(*sys.argv[1:4])
