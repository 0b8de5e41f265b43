"""Phrase grammar and token set of the command recognizer.

Every generated phrase is a list of (spoken word, label). label is a command token name or None (filler).
The CTC target is the label sequence with each run of filler words collapsed into one "other" token.
"""
import random

# Token ids: 0 = blank. The ▁ prefix keeps the recognizer's text output word-separated.
COMMANDS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
            "yes", "no", "agent", "repeat", "cancel", "sales", "support", "billing", "appointment", "double"]
TOKENS = ["<blk>"] + ["\u2581" + c for c in COMMANDS] + ["\u2581other"]
TOKEN_ID = {t: i for i, t in enumerate(TOKENS)}
OTHER = "other"

DIGITS = {
    "de": {0: ["null"], 1: ["eins"], 2: ["zwei", "zwei", "zwo"], 3: ["drei"], 4: ["vier"], 5: ["fünf"],
           6: ["sechs"], 7: ["sieben"], 8: ["acht"], 9: ["neun"]},
    "en": {0: ["zero", "zero", "oh"], 1: ["one"], 2: ["two"], 3: ["three"], 4: ["four"], 5: ["five"],
           6: ["six"], 7: ["seven"], 8: ["eight"], 9: ["nine"]},
}
WORDS = {
    "de": {"yes": ["ja", "ja", "ja", "jawohl", "genau", "richtig"], "no": ["nein", "nein", "nein", "nö"],
           "agent": ["Mitarbeiter", "Mensch", "Vermittlung", "Mitarbeiterin"], "repeat": ["wiederholen"],
           "cancel": ["abbrechen"], "sales": ["Vertrieb"], "support": ["Support"], "billing": ["Rechnung"],
           "appointment": ["Termin"]},
    "en": {"yes": ["yes", "yes", "yeah", "yep", "correct"], "no": ["no", "no", "nope"],
           "agent": ["agent", "human", "operator"], "repeat": ["repeat"], "cancel": ["cancel"],
           "sales": ["sales"], "support": ["support"], "billing": ["billing"], "appointment": ["appointment"]},
}

# Carrier phrases. {X} is the command slot. Words without a slot are fillers.
CARRIERS = {
    "de": {
        "digits": ["{X}", "{X}", "{X}", "meine Nummer ist {X}", "die Kundennummer lautet {X}", "{X} bitte",
                   "äh {X}", "also {X}", "das ist die {X}", "meine Postleitzahl ist {X}", "{X} danke",
                   "die Nummer {X}"],
        "yes": ["{X}", "{X}", "{X}", "{X} bitte", "{X} danke", "{X} gerne", "ja genau", "ja richtig",
                "äh {X}", "{X} das stimmt", "ja das ist richtig", "{X} das passt"],
        "no": ["{X}", "{X}", "{X}", "{X} danke", "nein danke", "{X} das möchte ich nicht", "äh {X}",
               "{X} das stimmt nicht", "{X} auf keinen Fall"],
        "agent": ["{X}", "einen {X} bitte", "ich möchte mit einem {X} sprechen", "verbinden Sie mich mit einem {X}",
                  "ich will mit einem {X} reden", "bitte einen {X}", "{X} bitte", "die {X} bitte",
                  "geben Sie mir die {X}", "kann ich mit einem {X} sprechen"],
        "repeat": ["{X}", "{X} bitte", "können Sie das bitte {X}", "bitte {X}", "noch mal {X}"],
        "cancel": ["{X}", "{X} bitte", "bitte {X}", "ich möchte {X}", "alles {X}"],
        "menu": ["{X}", "{X}", "{X} bitte", "ich möchte zum {X}", "ich habe eine Frage zur {X}",
                 "ich brauche einen {X}", "ich brauche {X}", "es geht um meine {X}", "verbinden Sie mich mit dem {X}"],
    },
    "en": {
        "digits": ["{X}", "{X}", "{X}", "my number is {X}", "the account number is {X}", "{X} please",
                   "uh {X}", "it's {X}", "my zip code is {X}", "{X} thanks", "the number is {X}"],
        "yes": ["{X}", "{X}", "{X}", "{X} please", "{X} thanks", "{X} that's right", "yes correct",
                "uh {X}", "{X} of course", "{X} sure"],
        "no": ["{X}", "{X}", "{X}", "{X} thanks", "no thank you", "{X} I don't want that", "uh {X}",
               "{X} that's wrong", "{X} not at all"],
        "agent": ["{X}", "{X} please", "I want to talk to a {X}", "can I speak to a {X}", "connect me to an {X}",
                  "let me talk to a {X}", "I need a {X}", "get me an {X}", "give me a real {X}"],
        "repeat": ["{X}", "{X} please", "can you {X} that", "please {X}", "{X} that again"],
        "cancel": ["{X}", "{X} please", "please {X}", "I want to {X}", "{X} that"],
        "menu": ["{X}", "{X}", "{X} please", "I need {X}", "I have a question about {X}", "connect me to {X}",
                 "it's about {X}", "I'd like to make an {X}", "I want {X}"],
    },
}

# Non-command sentences (false-alarm material), including confusable words (ein/eine, to/for/won, know, ...).
NEG = {
    "de": [
        "guten Tag ich rufe wegen meiner Bestellung an", "hallo wer ist da", "ich habe eine Frage",
        "das Wetter ist heute schön", "können Sie mir sagen wie spät es ist", "ich weiß es nicht genau so",
        "einen Moment bitte", "ich bin gleich wieder da", "das ist eine gute Idee", "meine Frau ist einkaufen",
        "wir fahren morgen nach Berlin", "der Zug hat Verspätung", "ich warte schon seit einer Stunde",
        "das verstehe ich nicht ganz", "können Sie lauter sprechen", "hallo hallo hören Sie mich",
        "ich rufe später noch mal an", "vielen Dank und auf Wiederhören", "tschüss schönen Tag noch",
        "ich wollte nur etwas fragen", "das Paket ist nicht angekommen", "mein Name ist Müller",
        "ich wohne in der Hauptstraße", "die Lieferung war beschädigt", "wie lange dauert das",
        "ich überlege noch", "vielleicht morgen", "keine Ahnung", "mal sehen", "einen Augenblick",
        "ich bin mir nicht sicher", "der Kollege hat gesagt ich soll anrufen", "es ist kalt draußen",
        "eine Frage noch", "zweite Straße links", "dreißig Grad im Schatten", "zwanzig Minuten",
        "hundert Prozent", "achtung achtung", "einmal reicht", "das ist ein Test",
    ],
    "en": [
        "hello who is this", "I'm calling about my order", "I have a question", "the weather is nice today",
        "can you tell me what time it is", "I don't know", "just a moment", "hold on a second",
        "that's a good idea", "my wife is at the store", "we're driving to Boston tomorrow",
        "the train is late again", "I've been waiting for an hour", "I don't quite understand",
        "can you speak louder", "hello hello can you hear me", "I'll call back later", "thanks and goodbye",
        "have a nice day", "I just wanted to ask something", "the package never arrived", "my name is Smith",
        "I live on Main Street", "the delivery was damaged", "how long does that take", "I'm still thinking",
        "maybe tomorrow", "no idea what you mean", "let me see", "I know", "someone told me to call",
        "it's cold outside", "one more thing", "I want to go to the store", "it's for my son",
        "I won the game", "twenty minutes", "a hundred percent", "I ate already", "tea for two",
        "to be honest", "the first street on the left", "fourteen people", "I need to think",
    ],
}
FILLER = {
    "de": ["ich", "du", "wir", "ein", "eine", "einen", "einem", "der", "die", "das", "und", "oder", "aber",
           "heute", "morgen", "gestern", "bitte", "danke", "hallo", "Moment", "gut", "schön", "Haus", "Auto",
           "Frage", "Problem", "Bestellung", "Paket", "Geld", "Zeit", "Woche", "Jahr", "zweite", "dritte",
           "dreißig", "zwanzig", "hundert", "elf", "zwölf", "neunzehn", "sechzehn", "nie", "nichts",
           "nicht", "noch", "schon", "sehr", "mal", "so", "also", "äh", "ähm", "vielleicht", "sicher",
           "kann", "will", "muss", "habe", "bin", "ist", "war", "Kunde", "Kollege", "Stunde", "Straße"],
    "en": ["I", "you", "we", "a", "an", "the", "and", "or", "but", "to", "too", "for", "from", "won", "ate",
           "someone", "anyone", "today", "tomorrow", "yesterday", "please", "thanks", "hello", "moment",
           "good", "nice", "house", "car", "question", "problem", "order", "package", "money", "time", "week",
           "year", "twenty", "thirty", "hundred", "eleven", "twelve", "fifteen", "never", "nothing", "not",
           "know", "now", "new", "yet", "still", "very", "so", "uh", "um", "maybe", "sure", "can", "will",
           "must", "have", "am", "is", "was", "customer", "hour", "street", "tree", "free", "heaven", "on"],
}
MENU_KEYS = ["sales", "support", "billing", "appointment"]


def digit_words(lang, rng, n):
    ds = [rng.randrange(10) for _ in range(n)]
    out = []
    i = 0
    while i < len(ds):
        d = ds[i]
        if lang == "en" and i + 1 < len(ds) and ds[i + 1] == d and rng.random() < 0.25:
            out += [("double", "double"), (rng.choice(DIGITS["en"][d]), str(d))]
            i += 2
            continue
        out.append((rng.choice(DIGITS[lang][d]), str(d)))
        i += 1
    return out


def fill(template, lang, slot):
    words = []
    for w in template.split():
        if w == "{X}":
            words += slot
        else:
            words.append((w, None))
    return words


def phrase(lang, rng, category=None):
    """Return (category, [(word, label)])."""
    if category is None:
        category = rng.choices(
            ["digits", "yes", "no", "agent", "repeat", "cancel", "menu", "neg", "negrand"],
            weights=[30, 14, 14, 10, 4, 4, 10, 12, 8])[0]
    C = CARRIERS[lang]
    if category == "digits":
        n = rng.choice([1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        return category, fill(rng.choice(C["digits"]), lang, digit_words(lang, rng, n))
    if category in ("yes", "no", "agent", "repeat", "cancel"):
        t = rng.choice(C[category])
        if "{X}" not in t:  # fixed phrase: label its command words
            return category, [(w, label_of(lang, w)) for w in t.split()]
        return category, fill(t, lang, [(rng.choice(WORDS[lang][category]), category)])
    if category == "menu":
        k = rng.choice(MENU_KEYS)
        return category, fill(rng.choice(C["menu"]), lang, [(rng.choice(WORDS[lang][k]), k)])
    if category == "neg":
        return category, [(w, None) for w in rng.choice(NEG[lang]).split()]
    n = rng.randint(1, 7)
    return "neg", [(rng.choice(FILLER[lang]), None) for _ in range(n)]


def label_of(lang, word):
    for k, ws in WORDS[lang].items():
        if word in ws:
            return k
    for d, ws in DIGITS[lang].items():
        if word in ws:
            return str(d)
    return None


def target(words):
    """Token ids of a phrase (filler runs collapsed to one ▁other)."""
    out = []
    for _, lab in words:
        t = TOKEN_ID["\u2581" + (lab if lab is not None else OTHER)]
        if lab is None and out and out[-1] == TOKEN_ID["\u2581other"]:
            continue
        out.append(t)
    return out


def text(words):
    return " ".join(w for w, _ in words)


if __name__ == "__main__":
    r = random.Random(1)
    for lang in ("de", "en"):
        for _ in range(8):
            c, p = phrase(lang, r)
            print(lang, c, "|", text(p), "|", " ".join(TOKENS[i] for i in target(p)))
