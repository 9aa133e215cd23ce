"""A claim's scope words -> the shop's category paths ("Winterjacken" -> "Bekleidung > Winterjacken").

A word matches a path when it equals one of the path's segments or a word of one, folded (case,
accents, hyphens) and singular or plural ("Winterjacke" = "Winterjacken", "coat" = "Winter Coats"),
or is the head of a compound there ("Schuhe" names "Damen > Laufschuhe" and "Fußballschuhe", as
German and Dutch build category names; heads of four letters or more, after a word of three or more:
"Tops" never names "Laptops"); a word the project maps
under `claims.scopes` in unisono.yaml matches the paths it names and their subcategories. A word
that matches nothing stays unmatched: the rule reports it as undecided, it never guesses.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_SEGMENTS = re.compile(r"\s*(?:>|/|\|)\s*")
# plural and inflection endings of de, en, fr, es, it, nl, pl, longest first; stripped once
_ENDINGS = ("innen", "en", "er", "es", "ies", "n", "e", "s", "x", "i", "y")


def fold(text: str) -> str:
    """Case, accents and punctuation folded: "Outdoor-Jacken" -> "outdoorjacken"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    return re.sub(r"[\W_]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def stem(text: str) -> str:
    """fold() without one plural or inflection ending: "Winterjacken" and "Winterjacke" -> "winterjack"."""
    word = fold(text)
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _names(word: str, path: str) -> bool:
    """Whether a scope word (its stem) names one of the path's segments: see the module's doc."""
    for segment in _SEGMENTS.split(path):
        for token in {segment, *segment.split()}:
            t = stem(token)
            if t == word or (len(word) >= 4 and len(t) - len(word) >= 3 and t.endswith(word)):
                return True
    return False


def _under(path: str, prefix: str) -> bool:
    p, q = [fold(s) for s in _SEGMENTS.split(path)], [fold(s) for s in _SEGMENTS.split(prefix)]
    return p[: len(q)] == q


@dataclass
class ScopeMatch:
    categories: list[str] = field(default_factory=list)  # the live category paths in scope
    brands: list[str] = field(default_factory=list)  # brands named by a word ("20 % auf alle Adidas")
    unmatched: list[str] = field(default_factory=list)  # words that match no category, brand or mapping


def match_scope(words: list[str], categories: list[str], brands: list[str],
                mapping: dict[str, str | list[str]]) -> ScopeMatch:
    """The categories and brands the words name, among those the live offers have."""
    mapped = {fold(k): [v] if isinstance(v, str) else list(v) for k, v in mapping.items()}
    by_stem = {stem(k): v for k, v in mapped.items()}
    result = ScopeMatch()
    for word in words:
        targets = mapped.get(fold(word)) or by_stem.get(stem(word))
        if targets:
            hits = [c for c in categories if any(_under(c, t) for t in targets)]
        else:
            hits = [c for c in categories if _names(stem(word), c)]
        named = [b for b in brands if fold(b) == fold(word)]
        if not hits and not named:
            result.unmatched.append(word)
        result.categories += [c for c in hits if c not in result.categories]
        result.brands += [b for b in named if b not in result.brands]
    return result
