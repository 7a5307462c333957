"""Business values that must survive: order ids, SKUs, tracking numbers, amounts, times,
product and brand names. Each kept span says which finding types it blocks.

A reference cue ("order", "tracking", "SKU", a carrier name) protects the value after it even
when it is long or passes a checksum; a cue right after a number ("... that's the tracking")
protects it only when it is not a valid card number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn

from shared.redaction import cues
from shared.redaction.model import ENTITY_TYPES
from shared.redaction.places import city_spans

ALL = frozenset(ENTITY_TYPES)
ONLY_PERSON = frozenset({"PERSON"})


@dataclass(frozen=True)
class Kept:
    """A span of the normalised text that findings of the ``blocks`` types may not touch."""

    start: int
    end: int
    blocks: frozenset[str]
    # A city blocks only a finding inside it: "to esperanza quintanilla" is a person whose
    # first name is also a town, "in tyler texas" a place.
    inside_only: bool = False


_FILLER = (
    r"(?:number|numbers|no\.?|num|nr|#|id|code|is|was|it's|its|the|a|my|of|for|on|at|:|,|-|"
    r"uh|um|says|said|reads)"
)
_CARRIER = r"fedex|ups|usps|dhl|royal mail|ontrac|lasership|canada post|evri|hermes|amazon"
# Words that say the number after them is personal, not a reference.
_PII_WORDS = (
    r"(?:card|credit|debit|visa|phone|cell|mobile|call|text|social|ssn|account|bank|routing|"
    r"zip|postcode|address|street|live|born|birth|security|cvv|expir\w*|iban|number is mine)"
)
_SHORT_WORDS = r"(?:and|the|is|my|it|on|in|to|for|was|but|so|or|at|of|me|we|you|i|its|by|no)"
# A reference: digit groups and short letter groups ("1 z 999 a a 1012...", "AB-1234-XL").
# Separators said as words inside a spoken reference ("h x dash two two nine oh dash b l k").
_SEP_WORD = r"[ \t]+(?:dash|hyphen|slash|dot|point)[ \t]+"
_VALUE = (
    rf"#?(?:(?!{_SHORT_WORDS}\b)[a-z]{{1,3}}(?![a-z])(?:{_SEP_WORD}|[ \t,.\-]*))*"
    rf"[a-z0-9]*\d[a-z0-9]*"
    rf"(?:(?:[ \t]*[-/.,][ \t]*|{_SEP_WORD})[a-z0-9]+|[ \t]+\d[a-z0-9]*"
    rf"|[ \t]+(?!{_SHORT_WORDS}\b)[a-z]{{1,3}}(?![a-z]))*"
    r"|[a-z]{1,5}-[a-z0-9-]*\d[a-z0-9-]*"
)
_AFTER_KEEP_CUE = re.compile(
    rf"(?<![a-z0-9\-])(?:{cues.KEEP_WORDS}|{_CARRIER})(?:_(?:number|id|no|num|code))?"
    rf"(?:[ \t]*{_FILLER}(?![\w]))*[ \t:#=]*(?P<value>{_VALUE})",
    re.IGNORECASE,
)
# "... oh two that's the tracking", "580635817839 is the fedex number": the cue comes after.
_BEFORE_KEEP_CUE = re.compile(
    r"(?<![\w])(?P<value>[\d][\d \t,.\-]*\d)[ \t,]*(?:that's|that is|is|was|it's|as)[ \t]+"
    rf"(?:(?:the|my|a|your)[ \t]+)?(?:(?:{_CARRIER})[ \t]+)?(?:tracking|order|sku|"
    rf"confirmation|reference|invoice|item|model|serial|{_CARRIER})(?![\w])",
    re.IGNORECASE,
)
_ID_SHAPE = re.compile(
    r"(?<![\w-])(?:(?![A-Z]{2}\d{2})[A-Z]{2,6}-[A-Z0-9]*\d[A-Z0-9-]*|1Z[0-9A-Z]{16})(?![\w-])"
)
# UPS ids, written or spoken, spaced or not ("1Z 999 AA1 01 2345 6784", "1 z 999 a a 1012...").
_UPS = re.compile(r"(?<![\w])1[ \t]?z(?:[ \t]?[0-9a-z]){16}(?![\w])", re.IGNORECASE)
_AMOUNT = re.compile(
    r"[$€£¥]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|million|billion))?"
    r"|\d[\d,]*(?:\.\d+)?\s*(?:dollars?|bucks|cents?|euros?|pounds?|quid|usd|eur|gbp)\b"
    r"|(?:charged|charge of|pay|paid|paying|refund(?:ed)?(?: of)?|costs?|cost me|price|total|"
    r"balance|amount|fee|spent|worth)[ \t:=]+(?:(?:the|a|me|only|just|around|about|like|"
    r"was|is|of|me|back)[ \t]+){0,2}\d{1,6}(?:[.,]\d{1,2})?(?![\d])",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s?(?:a\.?m\.?|p\.?m\.?|o'clock)(?![\w])|\b\d{1,2}:\d{2}\b"
    r"|\b(?:between|from)[ \t]+\d{1,4}[ \t]+(?:and|to|till|until)[ \t]+(?:\d{1,4}|noon|midnight)\b",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\b\d{1,4}[ \t]+(?:items?|pairs?|units?|pieces?|pcs|boxes|box|packs?|bottles?|cases?|"
    r"of (?:them|those|these|the)|dozen|sets?|bags?|cans?|rolls?|sheets?)\b(?![ \t]+\d)",
    re.IGNORECASE,
)
# Words that end a product name said after a brand ("nike air max for ...").
_MODEL_STOP = (
    r"(?:and|or|for|to|from|with|in|on|at|the|a|an|my|your|order|size|is|was|were|are|it|"
    r"that|this|but|so|please|thanks|jacket|shirt|shirts|shoes|jeans|bag|watch|polo)"
)
# Brands that read like people's names: never a PERSON.
_BRANDS = re.compile(
    r"(?<![\w])(?:tommy hilfiger|tommy bahama|ralph lauren|polo ralph lauren|calvin klein|"
    r"michael kors|kate spade|tory burch|hugo boss|marc jacobs|vera wang|dr\.? martens|"
    r"doc martens|ray-?ban|le creuset|ben & jerry'?s|ben and jerry'?s|levi'?s|"
    r"louis vuitton|christian dior|coco chanel|jimmy choo|steve madden|alexander mcqueen|"
    r"stella mccartney|kenneth cole|anne klein|betsey johnson|ted baker|paul smith|"
    r"vince camuto|sam edelman|tom ford|yves saint laurent|estee lauder|estée lauder|"
    r"eddie bauer|l\.? ?l\.? bean|hamilton beach|james perse|john deere|jack daniel'?s|"
    r"martha stewart|betty crocker|duncan hines|orville redenbacher|dr\.? pepper|"
    r"giorgio armani|emporio armani|ann taylor|j\.? ?crew|jos\.? a\.? bank|mary kay|"
    r"kenneth cole|fred perry|ben sherman|karl lagerfeld|jack wolfskin|helly hansen|"
    r"oscar de la renta|carolina herrera|diane von furstenberg|stuart weitzman|"
    r"tommy john|adidas|nike|reebok|puma|asics|ugg|crocs|dyson|bose|sony|samsung|"
    r"kitchenaid|cuisinart|keurig|nespresso|vitamix|lego|"
    r"best buy|home depot|whole foods|trader joe'?s|kohl'?s|macy'?s|nordstrom|sephora|"
    r"marks (?:and|&) spencer|john lewis|barnes (?:and|&) noble|dick'?s sporting goods|"
    r"williams[ -]sonoma|pottery barn|crate (?:and|&) barrel|harvey nichols|lord (?:and|&) taylor|"
    r"barbie|iphone|ipad|macbook|airpods|kindle|roomba|fitbit|garmin|samsung|levi)"
    r"(?![\w])(?P<model>(?:[ \t]+(?-i:[A-Z][\w\-]*|\d[\w\-]*)){1,3}"
    rf"|(?:[ \t]+(?!{_MODEL_STOP}\b)[a-z][\w\-]*){{1,2}})?",
    re.IGNORECASE,
)

# "the alexander wang hoodie", "Lululemon Align leggings": words right before a kind of goods
# are a brand and model, never a person, whoever the words sound like.
_GOODS = (
    r"hoodies?|sweaters?|sweatshirts?|jackets?|coats?|parkas?|vests?|shirts?|t-shirts?|tees?|"
    r"blouses?|dress(?:es)?|skirts?|jeans|pants|trousers|leggings|shorts|joggers|suits?|"
    r"boots|shoes|sneakers|trainers|heels|sandals|loafers|pumps|slippers|flats|clogs|"
    r"bags?|handbags?|totes?|purses?|wallets?|backpacks?|clutch(?:es)?|belts?|scarf|scarves|"
    r"hats?|caps?|gloves|socks|watch(?:es)?|sunglasses|glasses|frames|jewelry|necklaces?|"
    r"bracelets?|earrings|rings?|perfume|cologne|fragrance|lipstick|mascara|foundation|"
    r"sheets|towels|duvet|comforter|pillows?|blankets?|mattress|cookware|pans?|knives|"
    r"blender|mixer|vacuum|headphones|earbuds|speakers?|collection|line|gowns?|robes?|"
    r"pajamas|pyjamas|lingerie|bras?|swimsuits?|bikinis?|cardigans?|blazers?|tunics?|"
    r"rompers?|jumpsuits?|tights|mules|espadrilles|oxfords|wedges|serums?|moisturi[sz]ers?|"
    r"creams?|lotions?|shampoo|candles?|mugs?|vases?|lamps?|rugs?|kettles?|toasters?|"
    # "set up", "set off": the verb, not a set of goods (after a name: "my mom ana set up")
    r"strollers?|luggage|suitcases?|duffels?|filters?|cartridges?|pitchers?|bottles?|refills?|"
    r"sets?(?![ \t]+(?:up|off|out|it|me|us)\b)"
)
_BEFORE_GOODS = re.compile(
    rf"(?<![\w'])(?:(?!{_SHORT_WORDS}\b|{_MODEL_STOP}\b)[a-z][\w&\-]*(?<!'s)[ \t]+){{1,3}}"
    rf"(?:{_GOODS})(?![\w])",
    re.IGNORECASE,
)
# "about his Breville Barista Express", "my Ninja Foodi Grill": capitalised words owned by
# someone are a product (people are "my sister Rosa", never "my Rosa Diaz"); kin and titles
# before a name are left to the name rules ("my Aunt Rosa").
_KIN = (
    r"(?:aunt|auntie|uncle|grandma|grandpa|granny|nana|papa|mom|mum|dad|mother|father|sister|"
    r"brother|cousin|friend|son|daughter|wife|husband|partner|boss|dr|mr|mrs|ms|miss|sir|"
    r"lady|lord|colleague|neighbou?r|niece|nephew|fiancée?|girlfriend|boyfriend|sweetheart|"
    r"baby|honey|dear|grandson|granddaughter|stepson|stepdaughter|stepmom|stepdad)\b"
)
_OWNED_PRODUCT = re.compile(
    rf"(?<![\w'])(?:my|his|her|our|their|your)[ \t]+(?:(?:new|old|broken|faulty)[ \t]+)?"
    rf"(?P<value>(?!{_KIN})(?-i:[A-Z][\w'\-]*)(?:[ \t]+(?-i:[A-Z][\w'\-]*|\d[\w\-]*)){{1,3}})",
    re.IGNORECASE,
)
# "fedex gave me 5866...", "ups says it's 1z...": a number said shortly after a carrier.
_NEAR_CARRIER = re.compile(
    rf"(?<![\w])(?:{_CARRIER}|tracking|waybill)(?:[ \t]+(?!{_PII_WORDS}\b)[a-z']+){{1,4}}?"
    rf"[ \t:#]+(?P<value>\d[\d \t\-]*\d)(?![\w])",
    re.IGNORECASE,
)


def _luhn_card(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def kept_spans(text: str) -> list[Kept]:
    """Every business value in the normalised ``text``, with what it protects against."""
    kept: list[Kept] = []
    for m in _AFTER_KEEP_CUE.finditer(text):
        kept.append(Kept(m.start("value"), m.end("value"), ALL))
    for pattern in (_BEFORE_KEEP_CUE, _NEAR_CARRIER):
        for m in pattern.finditer(text):
            if not _luhn_card(m.group("value")):
                kept.append(Kept(m.start("value"), m.end("value"), ALL))
    for m in _BEFORE_GOODS.finditer(text):
        kept.append(Kept(m.start(), m.end(), ONLY_PERSON))
    for m in _OWNED_PRODUCT.finditer(text):
        kept.append(Kept(m.start("value"), m.end("value"), ONLY_PERSON))
    for pattern in (_ID_SHAPE, _UPS, _AMOUNT, _TIME, _QUANTITY):
        kept.extend(Kept(m.start(), m.end(), ALL) for m in pattern.finditer(text))
    for m in _BRANDS.finditer(text):
        # A brand with a model after it ("Levi's 501", "Samsung Galaxy Tab S9") is a product.
        kept.append(Kept(m.start(), m.end(), ALL if m.group("model") else ONLY_PERSON))
    kept.extend(Kept(s, e, ONLY_PERSON, inside_only=True) for s, e in city_spans(text))
    return kept


def blocked(kept: list[Kept], kind: str, start: int, end: int) -> bool:
    """Whether a finding of type ``kind`` at ``[start, end)`` touches a value kept from it."""
    return any(
        k.start < end
        and start < k.end
        and kind in k.blocks
        and (not k.inside_only or (k.start <= start and end <= k.end))
        for k in kept
    )
