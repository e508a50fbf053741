"""Write the QA example: a small family/people KB (people.ttl) and template questions
(questions.tsv to train on, test.tsv to evaluate). Deterministic: ``python generate.py``."""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST = ["ann", "bob", "cora", "dan", "eve", "finn", "gina", "hugo", "iris", "jack", "kate", "liam",
         "mia", "noah", "olga", "paul", "rosa", "sam", "tina", "umar", "vera", "walt", "xena", "yuri"]
LAST = ["smith", "jones", "berg", "costa", "dubois", "eriksen"]
COUNTRIES = ["france", "norway", "portugal", "canada", "japan", "kenya"]
CITIES = {"france": "lyon", "norway": "bergen", "portugal": "porto", "canada": "toronto",
          "japan": "osaka", "kenya": "nairobi"}
JOBS = ["teacher", "nurse", "engineer", "painter", "farmer", "judge"]
#: relation path -> paraphrases ({} is the topic entity)
TEMPLATES = {
    ("spouse", "nationality"): ["which nationality is {} 's spouse ?", "what is the nation of {} 's husband or wife ?",
                                "{} 's spouse 's nationality ?"],
    ("spouse", "profession"): ["what does {} 's spouse do for a living ?", "what is the profession of {} 's spouse ?",
                               "{} 's partner works as what ?"],
    ("parent", "place_of_birth"): ["where was {} 's parent born ?", "what is the birthplace of {} 's parent ?",
                                   "{} 's mother or father was born where ?"],
    ("parent", "nationality"): ["which nationality is {} 's parent ?", "what country is {} 's parent from ?",
                                "{} 's parent 's nationality ?"],
    ("spouse", "place_of_birth"): ["where was {} 's spouse born ?", "what is the birthplace of {} 's wife or husband ?",
                                   "{} 's spouse was born in which city ?"],
}


def main() -> None:
    rng = random.Random(7)
    people = [f"{f}_{rng.choice(LAST)}" for f in FIRST]
    facts: list[tuple[str, str, str]] = []
    for i in range(0, len(people), 2):
        a, b = people[i], people[i + 1]
        facts += [(a, "spouse", b), (b, "spouse", a)]
    for p in people:
        c = rng.choice(COUNTRIES)
        facts += [(p, "nationality", c), (p, "place_of_birth", CITIES[c]), (p, "profession", rng.choice(JOBS))]
    for i, child in enumerate(people[4:], start=4):
        facts.append((child, "parent", people[rng.randrange(0, i - i % 2)]))
    lines = ["# People, marriages, parents, nationalities: the knowledge base of the QA example.",
             "# Written by generate.py.", "@prefix ex: <http://example.org/people#> .", ""]
    lines += [f"ex:{s} ex:{p} ex:{o} ." for s, p, o in facts]
    (HERE / "people.ttl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index: dict[tuple[str, str], list[str]] = {}
    for s, p, o in facts:
        index.setdefault((s, p), []).append(o)
    rows = []
    for path, phrasings in TEMPLATES.items():
        for p in people:
            mids = index.get((p, path[0]), [])
            answers = sorted({a for m in mids for a in index.get((m, path[1]), [])})
            if answers:
                for text in phrasings:
                    name = p if rng.random() < 0.7 else p.replace("_", " ")
                    rows.append(f"{text.format(name)}\t{'|'.join(answers)}\t{p}")
    rng.shuffle(rows)
    cut = len(rows) * 4 // 5
    head = "# question<TAB>answer1|answer2|...<TAB>topic entity (written by generate.py)\n"
    (HERE / "questions.tsv").write_text(head + "\n".join(rows[:cut]) + "\n", encoding="utf-8")
    (HERE / "test.tsv").write_text(head + "\n".join(rows[cut:]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
