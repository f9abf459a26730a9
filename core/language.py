"""Whether a query is written in a language the default model does not read.

The default model (all-MiniLM-L6-v2) was trained on English.  Asked in German, it still
returns its nearest passages, often German ones, with similarities that mean little, so
the user is told.  Telling is a heuristic: a question in another script, or one made
mostly of another European language's small words ("wie", "und", "pour", "los").  A
name or a typo in an English question is no such word, so it does not count.
"""

from __future__ import annotations

import re
import unicodedata

from core.terms import STOPWORDS

# Small words frequent in each language.  A word shared by two languages counts for both
# (the one with more wins); one that is English too ("in") counts for English as well.
_SMALL_WORDS: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "German": "und der die das in ist nicht ich ein eine einen einem einer mit für auf "
        "wie wo wann warum welche welcher welches von zu den dem des sich auch noch nach bei "
        "oder aber wenn kann können muss habe haben sind wird werden mein meine meinen wir "
        "uns über zum zur im vom dass sehr schon nur viel kein keine gibt sie ihr ihre wer "
        "wieviel wieso weshalb unsere unser dieser diese dieses",
        "French": "le la les de des du et est une un pour avec dans que qui quoi comment où "
        "quand mon ma mes je nous vous il elle ce cette ces pas ne sur au aux sont être "
        "avoir ou mais quel quelle quels quelles notre nos votre vos leur faut peut",
        "Spanish": "el la los las del de y es una un por para con en que qué cómo dónde "
        "cuándo cuál cuánto cuánta cuántos cuanto mi mis está están son hay pero muy como "
        "sobre al nuestro nuestra puedo tengo necesito yo lo se su sus",
        "Italian": "il lo gli della delle dei del di che è non per con una un come dove "
        "quando quanto quanta cosa qual mio mia miei sono ho hai ha quale quali nel nella "
        "alla allo perché anche posso devo",
        "Portuguese": "o os as do da dos das não com uma um é em no na para por que como "
        "onde quando quanto quanta meu minha está são tem posso preciso qual quais nosso "
        "nossa você",
        "Dutch": "de het een en van is niet ik met voor op hoe wat waar wanneer mijn zijn er "
        "te dat die om aan ook bij naar kan moet heb hebben wordt onze welke waarom",
    }.items()
}
_LETTERS = {
    "German": "äöüß",
    "French": "àâçéèêëîïôœùû",
    "Spanish": "áéíñóú¿¡",
    "Italian": "àèéìòù",
    "Portuguese": "ãõâêôçáéíóú",
    "Dutch": "ĳ",
}
# Parts of names in English text as well ("de la", "van der", "Los Angeles").
_PARTICLES = frozenset(
    "de la le el los las les di da do dos das del della du des van von der den het y e o".split()
)
_WORD = re.compile(r"[^\W\d_]+")

_SCRIPT_NAMES = {
    "CJK": "Chinese or Japanese",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "HANGUL": "Korean",
}
NOTE = "This question {looks}; the model reads English, so matches by meaning may be weak"


def language_note(text: str) -> str | None:
    """A one-line note when ``text`` is clearly not English, else None."""
    looks = _looks(text)
    return None if looks is None else NOTE.format(looks=looks)


def _looks(text: str) -> str | None:
    """How ``text`` looks if clearly not English ("looks German", "is in Greek
    script"); None for English, or when it cannot tell."""
    words = _WORD.findall(text.lower())
    script = _script(words)
    if script is not None:
        return f"is in {script} script"
    distinct = set(words)
    english = len(distinct & STOPWORDS)
    counts = {
        name: len(distinct & small)
        for name, small in _SMALL_WORDS.items()
        if _evidence(name, distinct, text) >= 2
    }
    best = max(counts.values(), default=0)
    if best <= english or best * 3 <= len(words):
        return None
    leaders = [name for name, count in counts.items() if count == best]
    if len(leaders) > 1:  # the letters only a language uses break a tie
        leaders = [name for name in leaders if any(c in _LETTERS[name] for c in text.lower())]
    return f"looks {leaders[0]}" if len(leaders) == 1 else "does not look English"


def _evidence(language: str, words: set[str], text: str) -> int:
    """Small words of ``language`` that are not name particles, and one more for its
    own letters: "Don Quixote de la Mancha" and "Müller" alone are no question in it."""
    small = len((words & _SMALL_WORDS[language]) - _PARTICLES)
    return small + any(c in _LETTERS[language] for c in text.lower())


def _script(words: list[str]) -> str | None:
    """The script of most letters, when it is not Latin ("Cyrillic")."""
    letters = [c for word in words for c in word]
    if not letters:
        return None
    scripts: dict[str, int] = {}
    for char in letters:
        name = unicodedata.name(char, "").split(" ")[0]
        scripts[name] = scripts.get(name, 0) + 1
    script, count = max(scripts.items(), key=lambda item: item[1])
    if script in ("LATIN", "") or count < len(letters) / 2:
        return None
    return _SCRIPT_NAMES.get(script, script.title())
