"""Cue words: what a caller says just before a value tells what the value is.

Each pattern is matched case-insensitively on the normalised text (spoken numbers already
digits). The last cue before a number decides its type, so multi-word cues ("card number",
"order number") are single alternatives and win over their parts.
"""

from __future__ import annotations

import re


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE)


# Business references: the digits after these are kept whatever they look like.
KEEP_WORDS = (
    r"orders?|ord|purchase|confirmation|conf|invoice|receipt|reference|ref|case|ticket|claim|"
    r"rma|returns?|sku|skus|items?|products?|model|part|style|catalog(?:ue)?|tracking|"
    r"track|shipment|package|parcel|waybill|awb|store|flight|booking|reservation|"
    r"serial|promo|coupon|voucher|gift ?card|"
    r"batch|lot|unit price|price|total|quantity|qty"
)
KEEP = _cue(KEEP_WORDS)
CARD = _cue(
    r"(?:credit|debit|bank|payment|visa|master ?card|amex|discover)? ?cards?(?: number)?|"
    r"visa|master ?card|amex|american express|discover|credit|debit|cc|"
    r"ending (?:in|with)|ends (?:in|with)|card holder|cardholder|pan|long number"
)
CVV = _cue(
    r"cvv2?|cvc2?|csc|cid|cv2|sec(?:urity)? (?:code|number|digits)|"
    r"verification (?:code|number|value)|"
    r"(?:three|four|3|4)[ -]digit (?:code|number)|code on the back|back of the card|"
    r"digits on the back|on the back|"
    # the family of ways callers point at the code rather than name it
    r"signature (?:strip|panel|box|line|bar)|little (?:number|code|digits)|"
    r"small (?:number|code|digits)|short (?:number|code)|last (?:three|3) (?:on|by|next to)|"
    r"code (?:on|from|by) the (?:back|signature)|(?:number|digits) (?:on|by) the signature"
)
EXPIRY = _cue(
    r"expir\w*|exp|expires?|valid (?:thru|through|until|till|to)|"
    r"good (?:thru|through|until|till|to)|valid date|"
    # the family of ways a card's end date is said without the word "expire"
    r"runs? out|ran out|running out|lapses?|good for another|valid for|"
    r"(?:end|exp|expiry|expiration) date|card (?:is )?good (?:till|until|thru|through)|"
    r"(?:it's|its|it is|card's) good (?:till|until|thru|through|to)|"
    r"(?:month|mo) and year|mm ?/? ?yy"
)
SSN = _cue(
    r"ssn|ss number|social(?: security)?(?: number| no)?|social security|tax id|tin|itin|"
    r"taxpayer id\w*"
)
PHONE = _cue(
    r"(?:tele)?phone(?: number)?|cell(?: phone)?(?: number)?|mobile(?: number)?|landline|"
    r"home number|work number|my number|callback(?: number)?|best number|"
    r"call ?back(?: number)?|call me|reach me|text me|contact number|fax|whatsapp|"
    r"extension|ext|dial|area code|cell is|mobile is|tel|tel\.|number to call|reach me on|"
    r"call me (?:back )?(?:on|at)|text (?:me|updates) (?:on|at|to)|old number|new number|"
    # "the number's 619", "number is ...": a number said with no reference word before it
    r"(?:the|my|your|our|his|her|that|this|best|other|alt(?:ernate)?) numbers?(?:'s| is| was)?|"
    r"reach (?:me|us|him|her) (?:at|on)|ring me|buzz me|"
    r"(?:home|work|office|house|day|daytime|evening|alt(?:ernate)?|backup|emergency) "
    r"(?:line|phone|number)"
)
BANK = _cue(
    r"(?:bank |checking |savings |routing |deposit )?account(?: number| no| num)?|acct|"
    r"routing(?: number| no)?|aba|checking|savings|bank|sort code|transit(?: number)?|"
    r"swift|bic|wire|bsb"
)
DOB = _cue(
    r"born|birth|birthday|birth ?date|date of birth|d\.? ?o\.? ?b\.?|dob|bday|b-day|"
    r"year of birth|i was born"
)
# A bare "code" is a security code only when a card was mentioned before it.
CODE = _cue(r"code|(?:3|4|three|four) digits?|sec code|pin")
IBAN = _cue(r"iban|i ban|international bank account(?: number)?|eye ban")
# Deliveries, schedules and returns: a date after these is business, not a birth date.
DELIVERY = _cue(
    r"arriv\w*|deliver\w*|ship\w*|expect\w*|schedul\w*|due|eta|dispatch\w*|return\w*|"
    r"refund\w*|order\w*|placed|bought|purchased|pick ?up|appointment|get here|come|"
    r"coming|need it|by|until|before|after|since|last week|next"
)

# Names: strong cues are followed by a name; weak ones only when a known first name follows.
NAME_STRONG = _cue(
    r"my name is|my name's|(?:'s|s) name(?: is)?|name is|name's|names is|the name is|"
    r"under the name(?: of)?|"
    r"in the name of|first name(?: is)?|last name(?: is)?|surname(?: is)?|"
    r"family name(?: is)?|full name(?: is)?|given names?(?: is| are)?|forenames?(?: is)?|"
    r"christian name(?: is)?|middle name(?: is)?|maiden name(?: is)?|"
    r"name (?:on|for|under) (?:(?:the|my|our|his|her|their|this|that) )?(?:card|account|order|"
    r"reservation|file|record|booking|policy|delivery|package|parcel)(?: is)?|"
    r"card ?holder(?: name)?(?: is)?|"
    r"account holder(?: is)?|mr\.?|mrs\.?|ms\.?|miss|mister|missus|dr\.?|doctor|"
    r"call me|ask for|(?:speak|speaking|talk|talking) (?:to|with)|attention|attn|care of|c/o|"
    r"signed (?:for )?by(?: a)?|addressed to|recipient(?: is)?|spelled|spelling|spell(?:s|ed)? it|"
    r"goes by|spell(?: it)?(?: out)?|"
    # the family of ways a caller gives the name a thing is under
    r"(?:i|we|he|she|they) go by|going by|went by|known as|you can call me|i'm called|"
    # "put it under the name shreya": the cue takes "the name" with it
    r"(?:put (?:it |that |this )?(?:down )?(?:as|under)|(?:listed|booked|reserved|registered|"
    r"filed|saved|held|placed) (?:as|under|for))(?: the name(?: of)?)?|payable to|"
    r"(?:make|made|write|wrote|written|making|writing) (?:(?:it|this|that|them|the|a|an|my)"
    r" )?(?:\w+ )?out to|"
    r"(?:the )?account(?:'s| is)? under|"
    # record and form labels ("Customer: Oyelaran, Bisi", "Ship-to name: ...")
    r"(?:(?:full|first|last|customer|client|caller|contact|member|guest|recipient|"
    r"passenger|patient|buyer|sender|payee|beneficiary|policy ?holder|account ?holder|"
    r"card ?holder|ship-to|bill-to|sold-to) )?name ?:"
)
# Who a record is about ("Customer: Oyelaran, Bisi"): a name follows when it reads as one
# (agents also write "Customer: called about ...").
NAME_LABEL = _cue(
    r"(?:customer|client|caller|contact|member|guest|recipient|passenger|patient|buyer|"
    r"sender|payee|beneficiary|policy ?holder|addressee|consignee|attendee|resident|"
    r"tenant|ship to|bill to|sold to|deliver to|attn|"
    # any person a form asks for: "Authorized pickup person:", "Emergency contact:"
    r"(?:[a-z\-]+ ){0,2}(?:person|owner|guardian|signatory|driver|representative|rep|"
    r"contact|user|holder|next of kin|pickup|pick-up)) ?:"
)
NAME_WEAK = _cue(
    r"this is|it's|it is|its|i'm|i am|im|hi|hello|hey|thanks|thank you|yes|yeah|named|under|"
    r"called|my (?:wife|husband|son|daughter|mother|mom|father|dad|partner|"
    r"brother|sister|friend|boss|colleague|fiance|fiancee|girlfriend|boyfriend|kid|child)"
    r"(?:'s name is| is)?"
)
# People named by who they are to the caller ("my neighbor svetlana", "auntie wanjiru"):
# the word after is a name when it is a known first name or no English word.
_KIN_ALONE = (
    r"aunt|auntie|aunty|uncle|cousin|grandma|grandpa|granny|nana|nan|gran|grandad|granddad|"
    r"grandmother|grandfather|sister|brother|dr|doctor|nurse|pastor|father|mother"
)
RELATION = _cue(
    rf"(?:(?:my|his|her|our|your|their|the)(?: (?:older|younger|little|big|best|old|new|"
    r"ex|late|step|grand))? )"
    r"(?:wife|husband|spouse|son|daughter|mother|mom|mum|mama|mommy|father|dad|papa|daddy|"
    r"parents?|partner|brother|sister|sibling|friend|boss|colleague|co-?worker|fiance|fiancee|"
    r"girlfriend|boyfriend|kid|child|neighbou?r|roommate|room mate|housemate|flatmate|"
    r"landlord|landlady|tenant|aunt|auntie|aunty|uncle|cousin|nephew|niece|grandma|grandpa|"
    r"granny|nana|grandmother|grandfather|grandson|granddaughter|grandkid|stepson|"
    r"stepdaughter|stepmom|stepdad|(?:mother|father|sister|brother|son|daughter)[ -]in[ -]law|"
    r"in-laws?|assistant|secretary|manager|supervisor|employee|caregiver|carer|nanny|"
    r"babysitter|teacher|client|customer|doorman|concierge|receptionist|mate|buddy|pal|"
    r"relative|godmother|godfather|godson|goddaughter|fianc\w*)"
    r"(?:'s name is| is named| named| called|,)?"
    rf"|{_KIN_ALONE}"
)
# Introductions: the word after them is a name when it is no English word ("this is kwame").
NAME_INTRO = _cue(
    r"this is|it's|it is|i'm|i am|im|my name is|name's|"
    # who did something to the order: "placed by ana lucía paredes", "picked up by ..."
    r"(?:placed|ordered|made|signed|received|picked up|collected|paid(?: for)?|booked|bought|"
    r"purchased|sent|shipped|submitted|opened|authori[sz]ed|approved|requested|returned|"
    r"accepted|signed for) by"
)
SPEAKING = re.compile(r"(?<![\w-])(?:speaking|here|calling)(?![\w-])", re.IGNORECASE)
