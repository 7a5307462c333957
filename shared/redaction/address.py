"""Street addresses: house number, street name, street suffix, unit. The city after stays.

"1234 Elm Street, Apt 5B", "twelve thirty four north elm st apartment five b" (spoken numbers
already digits), "P.O. Box 123". A street word that is also a common noun ("drive", "way",
"court") only ends an address where an address can end (punctuation, a unit, a direction, a
capitalised city, the end of the sentence), so "3 new drive belts" stays.
"""

from __future__ import annotations

import re

from shared.redaction.model import Entity

# USPS abbreviations of street words that are also nouns ("5 Elm Ct", "9 Oak Cir"): written
# with a capital, the abbreviation is no English word, so it ends an address wherever it stands.
# Lower case ("5 new pl") it is left to the ambiguous rule.
_USPS = (
    "ct pl cir trl aly plz hts xing cv crk cswy grv hbr holw jct knl ldg lndg mdw mdws mnr mtn "
    "orch rdg rte shr spg spgs trce vly vlg crst frk gdns gln grn hvn lk lks pln prt smt sqr "
    "tunl xrd sq dr"
).split()
_ABBREVIATED = "(?-i:" + "|".join(w.title() + "|" + w.upper() for w in _USPS) + ")"
_CLEAR_SUFFIX = (
    r"street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|parkway|pkwy|highway|hwy|"
    r"terrace|terr|ter|crescent|cres|expressway|expy|freeway|fwy|turnpike|tpke|"
    r"boul|ctr|hwy|" + _ABBREVIATED
)
_AMBIGUOUS_SUFFIX = (
    r"drive|dr|court|ct|place|pl|way|circle|cir|square|sq|trail|trl|alley|aly|close|loop|"
    r"plaza|plz|pike|row|run|walk|path|heights|hts|cove|crossing|xing|point|pt|ridge|park|"
    r"grove|glen|view|hill|hills|green|bend|commons|mall|pass|creek|meadows?|manor|landing|"
    r"hollow|gardens|mews|wharf|quay|estates?|village|vista|haven|harbou?r|summit|springs|"
    r"junction|knoll|bluff|chase|woods|orchard|shores?|pointe|rise|dale|wynd|gate|yard|parade"
)
_DIRECTION = (
    r"(?:north|south|east|west|northeast|northwest|southeast|southwest|n|s|e|w|ne|nw|se|sw)\.?"
)
_UNIT = (
    r"(?:,?[ \t]*(?:apt|apartment|unit|suite|ste|#|number|room|rm|floor|fl|building|bldg|"
    # the unit words of Spanish, Portuguese, French, Italian and German addresses
    r"flat|lot|space|apto|ap|piso|depto|dpto|dto|planta|puerta|andar|bloco|casa|étage|etage|"
    r"appt|app|interno|int|scala|wohnung|whg|top)(?![a-z])\.?"
    r"[ \t]*#?[ \t]*(?:\d+[ \t]?[a-z]\b|\d+|[a-z]\d*\b)"
    # "10th floor", "3rd fl": the floor said with its ordinal first
    r"|,?[ \t]*(?:\d{1,3}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|eleventh|twelfth|ground|top)[ \t]+(?:floor|fl)\b\.?"
    # "2º B", "3ª izq.": a Spanish or Portuguese floor (ordinal sign) and door
    r"|,?[ \t]*\d{1,2}[º°ª][ \t]*(?:(?:izq|izda|dcha|dch|dto|esq)\b\.?|[a-z]\b)?)"
)
# Words that cannot be part of a street name (they end the search for one).
_NOT_NAME = (
    r"(?:and|or|the|a|an|of|on|in|at|to|for|from|with|is|was|are|my|your|our|it|i|me|you|"
    r"order|orders|items?|pairs?|units?|pieces?|boxes|packs?|dollars?|bucks|cents|times|"
    r"days|weeks|months|years|hours|minutes|am|pm|by|but|so|then|please|thanks|um|uh)"
)
_NAME_WORD = rf"(?!{_NOT_NAME}\b)(?!{_DIRECTION}[ \t]+(?:{_CLEAR_SUFFIX})\b)[a-z0-9][a-z0-9'.\-]*"
# A street-name word that starts with a letter (no digit run is a street name).
_ALPHA_WORD = rf"(?!{_NOT_NAME}\b)(?!{_DIRECTION}[ \t]+(?:{_CLEAR_SUFFIX})\b)[a-z][a-z'.\-]*"
_HOUSE = r"\d{1,6}(?:[ \t]?[a-z]\b|-\d{1,4})?"
# Between the words of a street, a space or a turn break ("902 Fenwick" / "Lane, Apt 5C").
_WS = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
ADDRESS = re.compile(
    rf"(?<![\w$€£.,\-])(?P<house>{_HOUSE})(?:(?<=\d\d),)?\s+(?:{_DIRECTION},?[ \t]+)?"
    rf"(?:the[ \t]+(?:{_NAME_WORD}{_WS}){{0,3}}|(?:{_NAME_WORD}{_WS}){{1,4}})"
    rf"(?P<suffix>{_CLEAR_SUFFIX}|{_AMBIGUOUS_SUFFIX})\b\.?(?P<tail>(?:[ \t]+{_DIRECTION}(?![\w]))?"
    rf"{_UNIT}?)",
    re.IGNORECASE,
)
PO_BOX = re.compile(
    r"(?<![\w])(?:p\.?[ \t]?o\.?[ \t]*box|rural route[ \t]*\d+(?:[ \t]+box)?|rr[ \t]*\d+[ \t]+box)"
    r"[ \t]*#?[ \t]*\d+",
    re.IGNORECASE,
)
_UNIT_WORD = r"(?:flat|apt|apartment|unit|suite|ste)\.?"
# "flat 241 kingsland road": a unit word before the house number belongs to the address.
_UNIT_BEFORE = re.compile(rf"{_UNIT_WORD}[ \t]*#?[ \t]*(?:\d+[a-z]?[, \t]+)?$", re.IGNORECASE)
_PARTICLE = r"(?:de|des|del|della|la|le|les|du|di|da|do|dos|das|los|las|el|of|the)"
# Street type first: "9 Rue des Lilas", "62 b calle del sol", "Hauptstraße 45", "3 Chome-14".
_TYPE_FIRST = re.compile(
    rf"(?<![\w$€£.,\-]){_HOUSE}[ \t,]+(?:rue|via|calle|avenida|av|rua|chemin|piazza|strada|"
    rf"carrer|plaza|camino|paseo|avenue|boulevard|place)\.?[ \t]+(?:{_PARTICLE}[ \t]+)*"
    rf"(?!{_NOT_NAME}\b)[a-zà-ÿ'\-]+(?:[ \t]+(?!{_NOT_NAME}\b)[A-ZÀ-Þ][a-zà-ÿ'\-]+)?"
    rf"|(?<![\w])[A-ZÄÖÜa-zäöüß\-]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|"
    rf"laan|straat|gracht|gade|vej|gatan|vägen|veien)[ \t]+\d+[a-z]?(?![\w])"
    rf"|(?<![\w])\d+[ \t]+chome-\d+(?:-\d+)?(?:[ \t]+[A-Z][a-z]+)?",
    re.IGNORECASE,
)
# "i live at seventeen" (the street follows in the next turn): a house number after the cue.
_HOUSE_AFTER_CUE = re.compile(
    rf"(?:i live at|i'm at|im at|we're at|address is|it's at|lives at|"
    rf"(?:street|house|building|door|flat|apartment) (?:number|no)(?:'s| is| was)?|"
    rf"(?:the )?(?:street|address|house)(?:'s| is| was)|(?:ship|send|deliver|mail|bring) "
    rf"(?:it |them |this |that )?to|number on the (?:house|door|building)(?: is)?)"
    rf"[ \t]+(?P<house>{_HOUSE})"
    r"(?=[ \t]*[.,]?[ \t]*(?:\n|$))",
    re.IGNORECASE,
)
# "my address is 1422 north broadway apartment 3": after an address cue the street type may
# be missing; the house number (two digits or more) and a word or three still make it.
_AFTER_ADDRESS_CUE = re.compile(
    rf"(?:address is|address's|address was|address:|(?:i|we|they|he|she) (?:live|lived|stay) at|"
    rf"(?:living|staying|residing) at|lives at|i'm at|we're at|located at|moved to|"
    rf"(?:ship|send|deliver|mail|bring|drop|courier|post|forward|redirect)(?:ped|ed|ing|s)? "
    rf"(?:it |them |this |that |everything |the (?:package|parcel|order|box) )?"
    rf"(?:to|at|off at|over to)|"
    rf"(?:the |my |our )?(?:house|home|building|place|apartment|flat|office)"
    rf"(?:(?:'s| is)? at|'s| is))"
    rf"[ \t]+"
    rf"(?P<address>(?:\d{{2,6}}[a-z]?|\d(?=[ \t]+(?-i:[A-Z])))[ \t]+"
    rf"(?:{_DIRECTION}[ \t]+)?(?:the[ \t]+)?(?:{_NAME_WORD})(?:[ \t]+{_NAME_WORD}){{0,2}}?{_UNIT}?)"
    rf"(?=[ \t]*(?:$|\n|[,.;]|(?:{_NOT_NAME}|apt|apartment|unit|suite)\b))",
    re.IGNORECASE,
)
# "the house number is 56 and the street is garfield place": each part after its cue.
_PART_CUES = re.compile(
    rf"(?:house|building|street) number(?:[ \t]+(?:is|was))?[ \t]+(?P<house>{_HOUSE})(?![\w])"
    rf"|street(?: name)?(?:[ \t]+(?:is|was))[ \t]+(?P<street>(?:{_NAME_WORD}[ \t]+){{0,3}}"
    rf"(?:{_CLEAR_SUFFIX}|{_AMBIGUOUS_SUFFIX})(?![\w])|{_ALPHA_WORD}(?:[ \t]+{_ALPHA_WORD})?"
    # "the street is Hawthorne and ...": after the cue the name alone is the street
    rf"(?=[ \t]*(?:$|\n|[,.;!?]|and\b)))",
    re.IGNORECASE,
)
# "buzz unit eleven at ...", "it's apartment 4b": a unit said apart from its street.
_UNIT_ALONE = re.compile(
    r"(?<![\w])(?:apt|apartment|unit|suite|ste|flat|bldg|building)\.?[ \t]*#?[ \t]*"
    r"(?:\d{1,5}[ \t]?[a-z]?|[a-z])(?![\w])",
    re.IGNORECASE,
)
# "Via Nazionale 112", "calle de alcalá 48", "Rua Augusta, 24": type, name, then the number.
_TYPE_THEN_NUMBER = re.compile(
    rf"(?<![\w])(?:(?:rue|calle|avenida|avda|av|rua|chemin|piazza|piazzale|viale|corso|strada|"
    rf"carrer|camino|paseo|rambla|travessa|largo|avinguda|ulica|ul\.|rynek|alameda|estrada|"
    rf"rodovia|carretera|calzada|allée|allee|impasse|quai|cours|vicolo|ulitsa|prospekt|ulice)"
    rf"\.?[ \t]+"
    rf"(?:{_PARTICLE}[ \t]+)*(?!{_NOT_NAME}\b)[a-zà-ÿ'\-]+"
    rf"|(?-i:Via|Avenue|Boulevard|Place|Strada)[ \t]+(?:{_PARTICLE}[ \t]+)*(?-i:[A-ZÀ-Þ][\w'\-]+))"
    rf"(?:[ \t]+(?!{_NOT_NAME}\b)(?-i:[A-ZÀ-Þ][\w'\-]+))?[ \t,]+(?:n[º°o]\.?[ \t]*)?"
    rf"\d{{1,5}}[a-z]?(?![\w]){_UNIT}?",
    re.IGNORECASE,
)
# "via Garibaldi 8, int. 5": "via" in lower case is also "by way of" ("via Zappos 2 weeks
# ago"), so the number must end the address or carry a unit.
_LOWER_VIA = re.compile(
    rf"(?<![\w])(?-i:via)[ \t]+(?:{_PARTICLE}[ \t]+)*(?-i:[A-ZÀ-Þ][a-zà-ÿ'\-]+)"
    rf"(?:[ \t]+(?-i:[A-ZÀ-Þ][a-zà-ÿ'\-]+))?[ \t,]+\d{{1,4}}[a-z]?(?![\w])"
    rf"(?:{_UNIT}|(?=[ \t]*(?:$|\n|[,;])))",
    re.IGNORECASE,
)
# Streets whose name needs no type: "1600 broadway", "221 the strand".
_NAMED_STREET = re.compile(
    rf"(?<![\w$€£.,\-]){_HOUSE}[ \t]+(?:{_DIRECTION}[ \t]+)?(?:the[ \t]+)?"
    rf"(?:broadway|kingsway|bowery|embarcadero|strand|esplanade|boardwalk|promenade|causeway|"
    rf"high street|main street|the mall)(?![\w]){_UNIT}?",
    re.IGNORECASE,
)
# Roads known by a number: "1157 route 9 w", "88 state highway 17", "4200 fm 1960 east".
_NUMBERED_ROAD = re.compile(
    rf"(?<![\w$€£.,\-])(?P<house>{_HOUSE}){_WS}(?:{_DIRECTION}[ \t]+)?"
    rf"(?:(?:state|county|us|u\.s\.|old|farm to market)[ \t]+)?"
    rf"(?:route|rte|rt|highway|hwy|road|rd|sr|cr|fm|ranch road|interstate)\.?[ \t]*#?[ \t]*"
    rf"\d{{1,4}}[a-z]?(?![\w])(?:[ \t]+{_DIRECTION}(?![\w]))?{_UNIT}?",
    re.IGNORECASE,
)
_ZIP = r"[ \t]*,?[ \t]*\d{5}(?:-\d{4})?(?![\w])"
# No street type, but a unit or a ZIP code after the name ("342 mcallister, number 8",
# "45 south wacker, floor 9", "7 Oak Hollow 28801"): the house number and name are a street.
_UNTYPED = re.compile(
    rf"(?<![\w$€£.,\-]){_HOUSE}[ \t]+(?:{_DIRECTION}[ \t]+)?{_ALPHA_WORD}"
    rf"(?:[ \t]+{_ALPHA_WORD}){{0,2}}?(?:{_UNIT}(?:{_ZIP})?|{_ZIP})",
    re.IGNORECASE,
)
# "apartment 4B, 220 Riverside": a unit said first makes the number and name after it a street.
_UNIT_FIRST = re.compile(
    rf"(?<![\w])(?:{_UNIT_WORD})[ \t]*#?[ \t]*(?:\d{{1,5}}[ \t]?[a-z]?|[a-z])[ \t]*,[ \t]*"
    rf"{_HOUSE}[ \t]+"
    rf"(?:{_DIRECTION}[ \t]+)?{_ALPHA_WORD}(?:[ \t]+{_ALPHA_WORD}){{0,2}}?"
    rf"(?=[ \t]*(?:$|\n|[,.;!?]))",
    re.IGNORECASE,
)
# A compass word between a house number and a name ("45 south wacker."), where an address
# can end: the direction is what says street.
_DIRECTED = re.compile(
    rf"(?<![\w$€£.,\-])\d{{2,6}}[a-z]?[ \t]+{_DIRECTION}[ \t]+{_ALPHA_WORD}"
    rf"(?:[ \t]+{_ALPHA_WORD})?(?=[ \t]*(?:$|\n|[,.;!?]))",
    re.IGNORECASE,
)
_CLEAR = re.compile(rf"(?:{_CLEAR_SUFFIX})", re.IGNORECASE)
# What may follow an address that ends in an ambiguous street word.
_ADDRESS_END = re.compile(
    r"\s*(?:$|[,.;:!?)]|\n|(?:in|and|apt|apartment|unit|suite|ste|please|thanks|thank)\b|[A-Z])"
)


def find_addresses(text: str) -> list[Entity]:
    """Street addresses (with their unit) and PO boxes."""
    found: list[Entity] = []
    for m in ADDRESS.finditer(text):
        clear = _CLEAR.fullmatch(m.group("suffix")) is not None
        # "3 new drive belts": a one-digit number before a common noun is a quantity.
        sure = clear or m.group("tail") or len(re.sub(r"\D", "", m.group("house"))) >= 2
        if not sure and not _ADDRESS_END.match(text, m.end()):
            continue
        unit = _UNIT_BEFORE.search(text, max(0, m.start() - 20), m.start())
        found.append(Entity("STREET_ADDRESS", unit.start() if unit else m.start(), m.end()))
    for m in _NUMBERED_ROAD.finditer(text):
        # "2 route 66 mugs": a one-digit number before it is a quantity unless the address ends
        if len(re.sub(r"\D", "", m.group("house"))) >= 2 or _ADDRESS_END.match(text, m.end()):
            found.append(Entity("STREET_ADDRESS", m.start(), m.end()))
    patterns = (PO_BOX, _TYPE_FIRST, _TYPE_THEN_NUMBER, _LOWER_VIA, _NAMED_STREET, _UNIT_ALONE)
    for pattern in (*patterns, _UNTYPED, _DIRECTED, _UNIT_FIRST):
        found.extend(Entity("STREET_ADDRESS", m.start(), m.end()) for m in pattern.finditer(text))
    for m in _AFTER_ADDRESS_CUE.finditer(text):
        found.append(Entity("STREET_ADDRESS", m.start("address"), m.end("address")))
    for m in _HOUSE_AFTER_CUE.finditer(text):
        found.append(Entity("STREET_ADDRESS", m.start("house"), m.end("house")))
    for m in _PART_CUES.finditer(text):
        part = "house" if m.group("house") else "street"
        found.append(Entity("STREET_ADDRESS", m.start(part), m.end(part)))
    return found
