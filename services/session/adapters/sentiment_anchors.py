"""Anchor phrases the sentiment scorer compares each caller utterance with.

The lexicon (VADER) says how negative the words are; it cannot tell a calm complaint about a
product ("the zipper broke, can I return it?") from frustration with the service ("I've called
three times and nobody helps"). The nearest anchors can: an utterance close to FRUSTRATED is
about the service, the call or the agent; one close to CALM is a request, an answer or a
problem with a thing. Phrases are short and generic so they transfer to other lines.
"""

from __future__ import annotations

# Frustration with the service, the company, the agent or the call itself.
FRUSTRATED: tuple[str, ...] = (
    "this is ridiculous",
    "I've called three times and nobody fixes anything",
    "you people are useless",
    "I'm sick and tired of this",
    "this is the worst customer service I have ever had",
    "stop wasting my time",
    "I am so fed up with your company",
    "nobody here ever helps me",
    "you keep giving me the runaround",
    "I'm furious, this is completely unacceptable",
    "why can't anyone just do their job",
    "I've been waiting forever and I'm done",
    "you're not listening to me",
    "I already told you that, how many times do I have to repeat myself",
    "this is a joke, what kind of company is this",
    "I'm really angry right now",
    "this is absolutely infuriating",
    "you're not helping at all",
    "I'm getting really frustrated with this",
    "every time I call it's the same story",
    "I want my money back and I'm never shopping here again",
    "this machine is useless, it doesn't understand anything",
    "are you kidding me, this is pathetic",
    "I can't believe how incompetent this is",
    "I'm losing my patience",
    "I'll report you, this is a scam",
    "you promised to call me back and nothing happened",
    "how hard can it be to get a simple answer",
    "oh fantastic, just what I needed, more waiting",
    "thanks for nothing",
    "nobody has had the courtesy to call me back",
    "I expected far better from a company like yours",
    "I am extremely dissatisfied with how this has been handled",
)

# Requests, answers and problems with a product, told calmly.
CALM: tuple[str, ...] = (
    "my headphones broke after a week, how do I get a replacement?",
    "the package arrived damaged, can I return it",
    "my order is late, can you check where it is",
    "the item doesn't work, I'd like a refund",
    "I got the wrong size, can I exchange it",
    "the zipper broke, is it under warranty",
    "I'd like to change my delivery address",
    "can you tell me my order status",
    "the screen cracked, what are my options",
    "it stopped charging after two days, that's annoying, can you help",
    "the color is different from the picture, I want to send it back",
    "my order number is ORD 12345",
    "yes, that's right",
    "no, the other one",
    "my email is on the account",
    "I ordered a jacket last week",
    "what are your opening hours",
    "can I cancel my order please",
    "it's a bit disappointing but these things happen",
    "one of the items was missing from the box",
    "the quality is awful, it fell apart",
    "this product is terrible, it stopped working",
    "I was charged twice for the same order",
    "okay, what do I need to do next",
    "am I talking to a real person",
    "sorry, my English is not very good",
    "I'm not very good with computers, my son usually helps me",
    "sorry, I'm a bit hard of hearing, could you say that again",
    "the heating isn't working and it's very cold",
    "I'm not complaining, I just want it fixed",
    "I'm not angry, I just want it sorted out",
    "it shows the same error every time I switch it on",
)

# Thanks and satisfaction.
POSITIVE: tuple[str, ...] = (
    "thank you so much, that's great",
    "perfect, that solves it",
    "thanks for your help",
    "that's wonderful news",
    "great, I appreciate it",
    "awesome, that was quick",
)
