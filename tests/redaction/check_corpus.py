#!/usr/bin/env python3
"""Validate a labelled redaction corpus (YAML) and print counts per type.

Usage: check_corpus.py CORPUS.yaml [MORE.yaml ...]

Checks, per file:
  * top level is {utterances: [...]}, each item has id and text, optional
    previous / pii / keep, and no other keys;
  * ids are unique kebab-case;
  * every label is {type, value}, type is one of the known PII / keep types,
    and value is an exact substring of text (every occurrence counts);
  * no PII span overlaps a keep span, and distinct labels don't overlap;
  * CREDIT_CARD values (written or spoken) of 13-19 digits pass the Luhn
    check and IBAN values (written or spelled) of 15+ characters pass the
    ISO 13616 mod-97 check; shorter values are fragments (a false start, or
    half of a number split over two turns) and are only counted.
Warnings (not errors): a value occurring inside a longer word, a keep value
that is 13-19 plain digits passing Luhn (an unfair look-alike), an SSN that is
neither 9 digits nor a last four, a phone number outside 7-15 digits (both
expected for a fragment).
With several files, texts and PII values shared between the files are reported.
Exit status 1 when any error is found.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

import yaml

from shared.redaction.model import ENTITY_TYPES

PII_TYPES = set(ENTITY_TYPES)
KEEP_TYPES = {
    "ORDER_ID",
    "SKU",
    "TRACKING_NUMBER",
    "AMOUNT",
    "QUANTITY",
    "TIME",
    "DELIVERY_DATE",
    "PRODUCT",
    "CITY",
}
NUMBER_WORDS_RE = re.compile(
    r"\b(oh|zero|one|two|three|four|five|six|seven|eight|nine|double|triple|and|dash)\b"
)
ITEM_KEYS = {"id", "text", "previous", "pii", "keep"}
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
UNITS.update({"oh": 0, "o": 0})
NONZERO_UNITS = {w for w, d in UNITS.items() if d}
TEENS = {
    w: 10 + i
    for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
TENS = {
    w: 10 * (i + 2)
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}


def spoken_digits(value: str) -> str:
    """Digits of a written or spoken number ("double five", "oh", "forty one")."""
    tokens = re.findall(r"[a-z]+|\d+", value.lower())
    out: list[str] = []
    repeat = 1
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.isdigit():
            out.append(tok * repeat)
            repeat = 1
        elif tok == "double":
            repeat = 2
        elif tok == "triple":
            repeat = 3
        elif tok in UNITS:
            out.append(str(UNITS[tok]) * repeat)
            repeat = 1
        elif tok in TEENS:
            out.append(str(TEENS[tok]))
        elif tok in TENS:
            if i + 1 < len(tokens) and tokens[i + 1] in NONZERO_UNITS:
                out.append(str(TENS[tok] + UNITS[tokens[i + 1]]))
                i += 1
            else:
                out.append(str(TENS[tok]))
        elif tok == "hundred":
            out.append("00")
        i += 1
    return "".join(out)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


IBAN_FILLERS = {"and", "then", "um", "uh", "er", "the", "is", "its", "it", "space", "dash", "sorry"}


def iban_chars(value: str) -> str:
    """IBAN characters from a written ("GB82 WEST ...") or spelled form."""
    compact = re.sub(r"[\s\-]", "", value)
    if re.fullmatch(r"[A-Za-z]{2}\d{2}[A-Za-z0-9]{8,30}", compact):
        return compact.upper()
    out: list[str] = []
    repeat = 1
    tokens = re.findall(r"[a-z]+|\d+", value.lower())
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "double":
            repeat = 2
        elif tok == "triple":
            repeat = 3
        elif tok.isdigit():
            out.append(tok * repeat)
            repeat = 1
        elif tok in UNITS and tok != "o":
            out.append(str(UNITS[tok]) * repeat)
            repeat = 1
        elif tok in TEENS:
            out.append(str(TEENS[tok]))
        elif tok in TENS:
            if i + 1 < len(tokens) and tokens[i + 1] in NONZERO_UNITS:
                out.append(str(TENS[tok] + UNITS[tokens[i + 1]]))
                i += 1
            else:
                out.append(str(TENS[tok]))
        elif tok in IBAN_FILLERS:
            pass
        elif len(tok) == 1:
            out.append(tok.upper() * repeat)
            repeat = 1
        elif len(tok) <= 4:
            out.append(tok.upper())  # "gb", or a bank code heard as a word ("west")
        i += 1
    return "".join(out)


def iban_ok(value: str) -> bool:
    s = iban_chars(value)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    while value:
        i = text.find(value, start)
        if i < 0:
            break
        spans.append((i, i + len(value)))
        start = i + 1
    return spans


def form_of(uid: str) -> str:
    parts = uid.split("-")
    for form in ("spoken", "written", "mixed"):
        if form in parts:
            return form
    return "unmarked"


def check_file(path: str) -> tuple[int, dict]:
    errors = 0

    def err(msg: str) -> None:
        nonlocal errors
        errors += 1
        print(f"ERROR {path}: {msg}")

    def warn(msg: str) -> None:
        print(f"warn  {path}: {msg}")

    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, dict) or not isinstance(doc.get("utterances"), list):
        err("top level must be a mapping with an 'utterances' list")
        return errors, {}
    items = doc["utterances"]
    ids: Counter[str] = Counter()
    type_counts: Counter[str] = Counter()
    forms: Counter[str] = Counter()
    prefixes: Counter[str] = Counter()
    n_keep = n_keep_only = n_pii = n_none = n_prev = fragments = 0
    texts: set[str] = set()
    pii_values: set[str] = set()

    for n, item in enumerate(items):
        where = f"item {n}"
        if not isinstance(item, dict):
            err(f"{where}: not a mapping")
            continue
        uid = item.get("id")
        where = f"{uid!r}"
        extra = set(item) - ITEM_KEYS
        if extra:
            err(f"{where}: unknown keys {sorted(extra)}")
        if not isinstance(uid, str) or not ID_RE.match(uid):
            err(f"{where}: id must be kebab-case")
        ids[uid] += 1
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            err(f"{where}: text missing")
            continue
        if text in texts:
            err(f"{where}: duplicate text")
        texts.add(text)
        if "previous" in item:
            n_prev += 1
            if not isinstance(item["previous"], str) or not item["previous"].strip():
                err(f"{where}: previous must be a non-empty string")
        forms[form_of(uid)] += 1
        prefixes[uid.split("-")[0]] += 1

        spans: list[tuple[int, int, str, str, str]] = []  # start, end, kind, type, value
        seen_labels: set[tuple[str, str, str]] = set()
        for kind, allowed in (("pii", PII_TYPES), ("keep", KEEP_TYPES)):
            labels = item.get(kind) or []
            if not isinstance(labels, list):
                err(f"{where}: {kind} must be a list")
                continue
            for lab in labels:
                if not isinstance(lab, dict) or set(lab) != {"type", "value"}:
                    err(f"{where}: {kind} label must be {{type, value}}: {lab!r}")
                    continue
                typ, val = lab["type"], lab["value"]
                if typ not in allowed:
                    err(f"{where}: {kind} type {typ!r} not allowed")
                if not isinstance(val, str) or not val:
                    err(f"{where}: empty value")
                    continue
                if val != val.strip():
                    err(f"{where}: value has surrounding whitespace: {val!r}")
                key = (kind, typ, val)
                if key in seen_labels:
                    err(f"{where}: label repeated {val!r}")
                seen_labels.add(key)
                occ = occurrences(text, val)
                if not occ:
                    err(f"{where}: {typ} value not in text: {val!r}")
                    continue
                for s, e in occ:
                    if (s > 0 and text[s - 1].isalnum() and val[0].isalnum()) or (
                        e < len(text) and text[e].isalnum() and val[-1].isalnum()
                    ):
                        warn(f"{where}: {val!r} occurs inside a longer word")
                    spans.append((s, e, kind, typ, val))
                type_counts[typ] += 1
                if kind == "pii":
                    pii_values.add(val.lower())
                # A fragment (a false start, or one half of a number split over two
                # turns) is shorter than a whole number and is not checksummed.
                if typ == "CREDIT_CARD":
                    digits = spoken_digits(val)
                    if len(digits) > 19 or (len(digits) >= 13 and not luhn_ok(digits)):
                        err(f"{where}: card {val!r} -> {digits}: not Luhn-valid 13-19 digits")
                    elif len(digits) < 13:
                        fragments += 1
                if typ == "IBAN":
                    chars = iban_chars(val)
                    if len(chars) >= 15 and not iban_ok(val):
                        err(f"{where}: IBAN {val!r} -> {chars} fails mod-97")
                    elif len(chars) < 15:
                        fragments += 1
                if typ == "US_SSN" and len(spoken_digits(val)) not in (4, 9):
                    warn(f"{where}: SSN {val!r}: {len(spoken_digits(val))} digits, not 9 or 4")
                if typ == "PHONE_NUMBER" and not 7 <= len(spoken_digits(val)) <= 15:
                    warn(f"{where}: phone {val!r} has {len(spoken_digits(val))} digits")
                if kind == "keep" and typ in ("TRACKING_NUMBER", "ORDER_ID", "SKU"):
                    digits = spoken_digits(val)
                    letters = re.search(r"[a-z]{2}", NUMBER_WORDS_RE.sub("", val.lower()))
                    if not letters and 13 <= len(digits) <= 19 and luhn_ok(digits):
                        warn(f"{where}: keep {typ} {val!r}: Luhn-valid {len(digits)} digits")
        spans.sort()
        for a in range(len(spans)):
            for b in range(a + 1, len(spans)):
                s1, e1, k1, t1, v1 = spans[a]
                s2, e2, k2, t2, v2 = spans[b]
                if s2 >= e1:
                    break
                if k1 != k2:
                    err(f"{where}: pii/keep overlap {v1!r} ({t1}) vs {v2!r} ({t2})")
                elif (s1, e1) != (s2, e2):
                    err(f"{where}: overlapping {k1} labels {v1!r} vs {v2!r}")
        has_pii = bool(item.get("pii"))
        has_keep = bool(item.get("keep"))
        n_pii += has_pii
        n_keep += has_keep
        n_keep_only += has_keep and not has_pii
        n_none += not has_pii and not has_keep

    for uid, c in ids.items():
        if c > 1:
            err(f"duplicate id {uid!r}")

    total = len(items)
    print(f"\n== {path}")

    def pct(n: int) -> str:
        return f"{100 * n / max(total, 1):.0f} %"

    print(
        f"utterances: {total}  with pii: {n_pii}  with keep: {n_keep} ({pct(n_keep)})"
        f"  keep only: {n_keep_only}  no labels: {n_none}  with previous: {n_prev}"
    )
    print("forms (from ids): " + ", ".join(f"{k} {v} ({pct(v)})" for k, v in forms.most_common()))
    print("categories: " + ", ".join(f"{k} {v}" for k, v in sorted(prefixes.items())))
    print("PII spans:  " + ", ".join(f"{t} {type_counts[t]}" for t in sorted(PII_TYPES)))
    print(
        "keep spans: "
        + ", ".join(f"{t} {type_counts[t]}" for t in sorted(KEEP_TYPES))
        + f"  (total {sum(type_counts[t] for t in KEEP_TYPES)})"
    )
    print(f"card/IBAN fragments (not checksummed): {fragments}")
    print(f"errors: {errors}")
    return errors, {"texts": texts, "pii": pii_values}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    total_errors = 0
    seen: list[tuple[str, dict]] = []
    for path in argv[1:]:
        errors, info = check_file(path)
        total_errors += errors
        seen.append((path, info))
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            (p1, a), (p2, b) = seen[i], seen[j]
            if not a or not b:
                continue
            shared_texts = a["texts"] & b["texts"]
            shared_pii = a["pii"] & b["pii"]
            print(f"\n{p1} vs {p2}: {len(shared_texts)} shared texts,", end=" ")
            print(f"{len(shared_pii)} shared PII values")
            for v in sorted(shared_pii):
                print(f"  shared PII value: {v!r}")
            for t in sorted(shared_texts):
                print(f"  shared text: {t!r}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
