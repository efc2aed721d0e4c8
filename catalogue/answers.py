"""Answers to the questions people ask, from the knowledge base (catalogue/data/answers.yaml).

Each answer lists the ways people ask it (its `questions`, Dutch and English); linear
classifiers (scikit-learn's LinearSVC) learn from them which answer a new question wants: one
for the answer itself, one for what it is about (its `about`, shared by the answers on one
topic) and one for the kind of question (its `aspect`); an answer's score is the sum of the
three, so an answer with few phrasings still gains from its topic's and its kind's. They read
a question as
- its words, stemmed (Dutch snowball stemmer: "kosten", "kost" and "kostte" count alike), and
  word pairs;
- character n-grams of the words as typed (robust to typos and Dutch compounds);
- the catalogue items it names (titles and synonyms, as interpret finds them: "werkend leren"
  and "BBL" are the same item);
- what kind of thing it asks, by its words (phrases.yaml `question_aspects`: "wat kost" asks
  a cost, "mag ik" a rule).
Below MIN_SCORE (MIN_SCORE_NAMED for a question naming a catalogue item) no answer is
good enough: the caller says so and points to the Leerwerkloket. The features and the scores
were chosen by cross-validation on the answers' own phrasings and on
tests/data/qa_tuning_unanswerable.yaml; the held-out questions (tests/data/qa_heldout.yaml)
measure it (docs/quality.md).

Where the person's answers decide it (an answer's `personal` variants, `when` over the
profile), the answer also says what it means for them: "Ik ben 20, mag ik ..." gets "nog
niet".
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import snowballstemmer
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from catalogue.compiled import Catalogue
from catalogue.intake import symbols_of
from catalogue.interpret import corrected, found_items, question_part
from catalogue.rules import evaluate
from catalogue.schema import Answer

# The classifiers' regularisation (higher: fits the phrasings more closely).
SVM_C: Final = 1.0
# How much the topic's and the kind's scores count next to the answer's own.
TOPIC_WEIGHT: Final = 1.0
ASPECT_WEIGHT: Final = 1.0
# The best answer's score must reach this, or there is no good answer; a question that names
# an item of the catalogue ("leereenheden op hbo-niveau") is about our domain, and a lower
# score will do (chosen by cross-validation, tests/catalogue/test_answers.py's docstring).
MIN_SCORE: Final = -0.66
MIN_SCORE_NAMED: Final = -1.6
_CACHE_KEY: Final = "answers_model"
_lock = threading.Lock()
# Models by the content they learnt from: the same catalogue read again (a refresh that finds
# the same export, the console's review of an upload, a second service in one process) does
# not train again. Keyed by the data itself, not by the checksum a caller may keep for
# changed data; a few kept, the newest last.
_trained: OrderedDict[str, _Model] = OrderedDict()
_TRAINED_KEPT: Final = 4


@dataclass(frozen=True)
class SourceRef:
    id: str
    title: str
    publisher: str
    url: str | None


@dataclass(frozen=True)
class FoundAnswer:
    """The answer to a question, in the language asked."""

    id: str
    about: str
    aspect: str
    text: str
    # What the answer means for this person, when their answers decide it (a `personal`
    # variant): said after the general answer ("Losse leereenheden zijn vanaf 23." + "Jij
    # bent 20: ...").
    personal: str | None
    status: str
    checked: dt.date
    sources: tuple[SourceRef, ...]
    score: float


@dataclass(frozen=True)
class _Classifiers:
    answer: LinearSVC
    topic: LinearSVC
    aspect: LinearSVC
    # For each answer the classifiers know (in their order): its topic's and kind's column.
    topic_of: np.ndarray
    aspect_of: np.ndarray


@dataclass(frozen=True)
class _Model:
    answers: dict[str, Answer]
    words: TfidfVectorizer
    chars: TfidfVectorizer
    classifiers: _Classifiers | None
    # With one answer only there is nothing to classify: it is the answer, or none.
    only: str | None


_dutch = snowballstemmer.stemmer("dutch")
_stem_lock = threading.Lock()


@functools.lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The word's Dutch snowball stem. Remembered: training stems the same words thousands
    of times; the stemmer object keeps state while it works, hence the lock."""
    with _stem_lock:
        return str(_dutch.stemWord(word))


def aspects_of(catalogue: Catalogue, question: str) -> frozenset[str]:
    """What kinds of thing a question asks, by its words ("kost" -> cost)."""
    text = " " + corrected(question, catalogue).replace(",", " ") + " "
    table = catalogue.data.phrases.question_aspects
    return frozenset(
        aspect for aspect, phrases in table.items() if any(f" {p} " in text for p in phrases)
    )


def _words_of(catalogue: Catalogue, question: str) -> str:
    """The question as word features: stems, named catalogue items, aspects asked."""
    text = corrected(question, catalogue)
    words = [stem(word) for word in text.replace(",", " ").split()]
    words += [f"item_{kind}_{item_id}" for kind, item_id in found_items(text, catalogue)]
    words += [f"asks_{aspect}" for aspect in sorted(aspects_of(catalogue, question))]
    return " ".join(words)


def _features(model: _Model, catalogue: Catalogue, questions: list[str]) -> Any:
    words = model.words.transform([_words_of(catalogue, q) for q in questions])
    chars = model.chars.transform([corrected(q, catalogue) for q in questions])
    return sparse.hstack([words, chars]).tocsr()


def train(catalogue: Catalogue, answers: list[Answer] | None = None) -> _Model:
    """A model over `answers` (default: the catalogue's); a few seconds for a few hundred."""
    chosen = list(catalogue.data.answers if answers is None else answers)
    phrasings = [(a.id, q) for a in chosen for q in (*a.questions.nl, *a.questions.en)]
    texts = [q for _, q in phrasings] or [""]
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        sublinear_tf=True,
        token_pattern=r"\S+",  # noqa: S106 (a regex)
    ).fit([_words_of(catalogue, q) for q in texts])
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
    ).fit([corrected(q, catalogue) for q in texts])
    model = _Model({a.id: a for a in chosen}, words, chars, None, None)
    labels = [answer_id for answer_id, _ in phrasings]
    if len(set(labels)) < 2:
        return _Model(model.answers, words, chars, None, labels[0] if labels else None)
    features = _features(model, catalogue, texts)
    fitted = []
    with warnings.catch_warnings():
        # liblinear may stop a little short of its tolerance; the ranking is what counts.
        warnings.simplefilter("ignore")
        targets_by_kind: list[list[str]] = [
            labels,
            [model.answers[a].about for a in labels],
            [str(model.answers[a].aspect) for a in labels],
        ]
        for targets in targets_by_kind:
            fitted.append(_fit(features, targets))
    answer, topic, aspect = fitted
    columns_topic = {name: i for i, name in enumerate(topic.classes_)}
    columns_aspect = {name: i for i, name in enumerate(aspect.classes_)}
    classifiers = _Classifiers(
        answer=answer,
        topic=topic,
        aspect=aspect,
        topic_of=np.array([columns_topic[model.answers[a].about] for a in answer.classes_]),
        aspect_of=np.array([columns_aspect[model.answers[a].aspect] for a in answer.classes_]),
    )
    return _Model(model.answers, words, chars, classifiers, None)


def _fit(features: Any, targets: list[str]) -> LinearSVC:
    classifier = LinearSVC(C=SVM_C, random_state=0)
    if len(set(targets)) < 2:
        # One topic or kind only: a constant score, the same for every answer.
        targets = [*targets, "_other"]
        features = sparse.vstack([features, sparse.csr_matrix(features.shape[1:])])
    classifier.fit(features, targets)
    return classifier


def _scores(classifier: LinearSVC, features: Any) -> np.ndarray:
    """One column per class; a two-class LinearSVC gives one score for its second class."""
    scores = np.asarray(classifier.decision_function(features))
    if scores.ndim == 1:
        scores = np.stack([-scores, scores], axis=1)
    return scores


def _model(catalogue: Catalogue) -> _Model:
    """The catalogue's model, trained once per catalogue (catalogue.cache)."""
    cached = catalogue.cache.get(_CACHE_KEY)
    if isinstance(cached, _Model):
        return cached
    with _lock:
        cached = catalogue.cache.get(_CACHE_KEY)
        if not isinstance(cached, _Model):
            content = hashlib.sha256(catalogue.data.model_dump_json().encode()).hexdigest()
            cached = _trained.get(content) or train(catalogue)
            _trained[content] = cached
            _trained.move_to_end(content)
            while len(_trained) > _TRAINED_KEPT:
                _trained.popitem(last=False)
            catalogue.cache[_CACHE_KEY] = cached
    return cached


def warm_up(catalogue: Catalogue) -> None:
    """Trains the model now (a process serving questions does this at start, not at the
    first question)."""
    _model(catalogue)


def ranked(
    catalogue: Catalogue, question: str, model: _Model | None = None
) -> list[tuple[float, str]]:
    """(score, answer id) of every answer for the question, best first."""
    model = model or _model(catalogue)
    found = model.classifiers
    if found is None:
        return [(0.0, model.only)] if model.only else []
    features = _features(model, catalogue, [question])
    scores = (
        _scores(found.answer, features)[0]
        + TOPIC_WEIGHT * _scores(found.topic, features)[0][found.topic_of]
        + ASPECT_WEIGHT * _scores(found.aspect, features)[0][found.aspect_of]
    )
    order = np.argsort(-scores)
    return [(float(scores[i]), str(found.answer.classes_[i])) for i in order]


def find_answer(
    catalogue: Catalogue,
    question: str,
    language: str = "nl",
    answers: Mapping[str, Any] | None = None,
) -> FoundAnswer | None:
    """The answer to `question` in `language`, with what it means for the person where
    `answers` (their profile answers so far) decide it; None when no answer is good enough."""
    # Read whole (what it tells around the question can matter: "ik werk in de zorg, wie
    # betaalt dat?") and as the question alone ("I only speak a little Dutch. What is a
    # learning unit?"): the more certain reading wins.
    best = ranked(catalogue, question)
    asked = question_part(question, catalogue)
    if best and asked and asked != corrected(question, catalogue).replace(",", " ").strip():
        alone = ranked(catalogue, asked)
        if alone and alone[0][0] > best[0][0]:
            best = alone
    named = bool(found_items(corrected(question, catalogue), catalogue))
    if not best or best[0][0] < (MIN_SCORE_NAMED if named else MIN_SCORE):
        return None
    score, answer_id = best[0]
    answer = catalogue.answers[answer_id]
    text = answer.answer.get(language)
    personal: str | None = None
    if answer.personal:
        symbols = symbols_of(catalogue, answers or {})
        for index, variant in enumerate(answer.personal):
            condition = catalogue.answer_conditions.get((answer.id, index))
            if condition is not None and evaluate(condition, symbols) is True:
                personal = variant.answer.get(language)
                break
    return FoundAnswer(
        id=answer.id,
        about=answer.about,
        aspect=answer.aspect,
        text=text,
        personal=personal,
        status=answer.status,
        checked=answer.checked,
        sources=tuple(
            SourceRef(s.id, s.title, s.publisher, s.url)
            for s in (catalogue.sources[ref] for ref in answer.sources)
        ),
        score=score,
    )
