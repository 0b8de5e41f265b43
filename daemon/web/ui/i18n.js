// German and English for every visible string, and numbers, dates and durations in the chosen language's locale.
// The choice is stored in localStorage; the first visit follows the browser's language.
const KEY = "sb.lang";
export const LANGS = [
  ["de", "Deutsch"],
  ["en", "English"],
];

/** key: [German, English], or one text for both. */
export const TEXTS = {
  "app.language": ["Sprache", "Language"],
  "app.liveOff": ["Live-Verbindung getrennt – wird neu aufgebaut", "Live connection lost – reconnecting"],
  "app.liveOn": ["Live-Verbindung aktiv", "Live connection active"],
  "app.logout": ["Abmelden", "Sign out"],
  "app.menu": ["Menü", "Menu"],
  "app.navigation": ["Hauptnavigation", "Main navigation"],
  "app.skip": ["Zum Inhalt springen", "Skip to content"],
  "nav.dashboard": ["Übersicht", "Dashboard"],
  "nav.chats": ["Gespräche", "Chats"],
  "nav.softphone": "Softphone",
  "nav.agents": ["Agenten", "Agents"],
  "nav.windows": ["Zeitfenster", "Time windows"],
  "nav.flows": ["Abläufe", "Flows"],
  "nav.knowledge": ["Wissen", "Knowledge"],
  "nav.numbers": ["Nummern & Trunks", "Numbers & trunks"],
  "nav.users": ["Benutzer", "Users"],
  "nav.retention": ["Datenschutz", "Data protection"],
  "nav.system": "System",
  "nav.audit": ["Protokoll", "Audit log"],
  "common.cancel": ["Abbrechen", "Cancel"],
  "common.confirm": ["Bestätigen", "Confirm"],
  "common.conflict": [
    "Die Einstellungen wurden inzwischen woanders geändert. Bitte Seite neu laden.",
    "The settings were changed elsewhere meanwhile. Please reload the page.",
  ],
  "common.delete": ["Löschen", "Delete"],
  "common.loading": ["Wird geladen …", "Loading …"],
  "common.no": ["nein", "no"],
  "common.refresh": ["Aktualisieren", "Refresh"],
  "common.remove": ["Entfernen", "Remove"],
  "common.retry": ["Erneut versuchen", "Try again"],
  "common.save": ["Speichern", "Save"],
  "common.saved": ["Gespeichert.", "Saved."],
  "common.savedRestart": ["Gespeichert. Wirksam nach einem Neustart.", "Saved. Takes effect after a restart."],
  "common.unknown": ["unbekannt", "unknown"],
  "common.yes": ["ja", "yes"],
  "error.network": ["Die Box ist nicht erreichbar.", "The box cannot be reached."],
  "problems.title": ["Bitte korrigieren:", "Please correct:"],
  "problems.toast": ["Bitte die markierten Angaben korrigieren.", "Please correct the marked entries."],
  "login.title": ["Anmelden", "Sign in"],
  "login.intro": ["Melden Sie sich an, um die Box zu verwalten.", "Sign in to manage the box."],
  "login.user": ["Benutzer", "User"],
  "login.password": ["Passwort", "Password"],
  "login.firstBoot": [
    "Erster Start: Benutzer „admin“ mit dem Erststart-Schlüssel der Box.",
    "First start: user “admin” with the box's first-boot secret.",
  ],
  "login.submit": ["Anmelden", "Sign in"],
  "login.wrong": ["Benutzer oder Passwort ist falsch.", "Wrong user or password."],
  "login.tooMany": [
    "Zu viele Versuche. Bitte in {s} Sekunden erneut versuchen.",
    "Too many attempts. Please try again in {s} seconds.",
  ],
  "login.expired": [
    "Die Sitzung ist abgelaufen. Bitte erneut anmelden.",
    "Your session has ended. Please sign in again.",
  ],
  "password.title": ["Neues Passwort", "New password"],
  "password.intro": [
    "{user}, bitte legen Sie ein eigenes Passwort fest, bevor es weitergeht.",
    "{user}, please set a password of your own before you continue.",
  ],
  "password.current": ["Bisheriges Passwort", "Current password"],
  "password.next": ["Neues Passwort", "New password"],
  "password.repeat": ["Neues Passwort wiederholen", "Repeat the new password"],
  "password.rules": [
    "Mindestens 10 Zeichen, anders als das bisherige.",
    "At least 10 characters, different from the current one.",
  ],
  "password.submit": ["Passwort ändern", "Change password"],
  "password.tooShort": [
    "Das neue Passwort braucht mindestens 10 Zeichen.",
    "The new password needs at least 10 characters.",
  ],
  "password.same": [
    "Das neue Passwort muss sich vom bisherigen unterscheiden.",
    "The new password must differ from the current one.",
  ],
  "password.mismatch": ["Die beiden neuen Passwörter stimmen nicht überein.", "The two new passwords do not match."],
  "password.wrongCurrent": ["Das bisherige Passwort stimmt nicht.", "The current password is wrong."],
  "dash.live": ["Laufende Anrufe", "Active calls"],
  "dash.trunks": "Trunks",
  "dash.queues": ["Warteschlangen", "Queues"],
  "dash.noCalls": ["Gerade keine Anrufe.", "No calls right now."],
  "dash.noTrunks": ["Keine Trunks eingerichtet.", "No trunks configured."],
  "dash.noQueues": ["Keine Warteschlangen.", "No queues."],
  "dash.waiting": ["{n} wartend", "{n} waiting"],
  "dash.free": ["{n} frei", "{n} free"],
  "dash.longest": ["längste Wartezeit {d}", "longest wait {d}"],
  "dash.health": ["Hinweise zum Zustand der Box:", "About the box's health:"],
  "kpi.calls": ["Anrufe heute", "Calls today"],
  "kpi.answered": ["{n} angenommen", "{n} answered"],
  "kpi.ai": ["Von der KI erledigt", "Handled by AI"],
  "kpi.transferred": ["Weitergeleitet", "Transferred"],
  "kpi.abandoned": ["Aufgelegt", "Abandoned"],
  "kpi.aht": ["Ø Gesprächsdauer", "Avg. handle time"],
  "kpi.fcr": ["Beim ersten Anruf gelöst", "First-call resolution"],
  "kpi.latency": ["Ø Antwortzeit", "Avg. response time"],
  "live.ringing": ["klingelt", "ringing"],
  "live.talking": ["im Gespräch", "talking"],
  "live.queued": ["wartet", "queued"],
  "live.transferred": ["weitergeleitet", "transferred"],
  "trunk.registered": ["registriert", "registered"],
  "trunk.registering": ["registriert sich", "registering"],
  "trunk.failed": ["fehlgeschlagen", "failed"],
  "trunk.unregistered": ["nicht registriert", "not registered"],
  "trunk.disabled": ["ohne Registrierung", "no registration"],
  "chats.q": ["Suche", "Search"],
  "chats.from": ["Von", "From"],
  "chats.to": ["Bis", "To"],
  "chats.status": "Status",
  "chats.agent": "Agent",
  "chats.caller": ["Anrufer", "Caller"],
  "chats.all": ["alle", "all"],
  "chats.apply": ["Filtern", "Filter"],
  "chats.reset": ["Zurücksetzen", "Reset"],
  "chats.more": ["Mehr laden", "Load more"],
  "chats.none": ["Keine Gespräche gefunden.", "No chats found."],
  "chats.total": ["{n} Gespräche", "{n} chats"],
  "chats.csv": "Export CSV",
  "chats.xlsx": "Export Excel",
  "chats.inbound": ["eingehend", "inbound"],
  "chats.outbound": ["ausgehend", "outbound"],
  "chats.noSummary": ["Keine Zusammenfassung.", "No summary."],
  "chats.lead": "Lead",
  "chats.escalation": ["Eskalation", "Escalation"],
  "chats.recorded": ["Aufnahme", "Recording"],
  "chats.statusSaved": "Status: {status}",
  "status.new": ["neu", "new"],
  "status.in_progress": ["in Bearbeitung", "in progress"],
  "status.done": ["erledigt", "done"],
  "outcome.completed": ["abgeschlossen", "completed"],
  "outcome.transferred": ["weitergeleitet", "transferred"],
  "outcome.voicemail": ["Nachricht", "message"],
  "outcome.callback": ["Rückruf", "call back"],
  "outcome.abandoned": ["aufgelegt", "abandoned"],
  "outcome.hangup": ["beendet", "ended"],
  "escalation.keywords": ["wollte einen Menschen", "asked for a human"],
  "escalation.noMatch": ["nicht verstanden", "not understood"],
  "escalation.sentiment": ["verärgert", "upset"],
  "escalation.outOfKnowledge": ["Frage ohne Antwort", "question without answer"],
  "escalation.repeatedQuestion": ["wiederholte Frage", "repeated question"],
  "detail.transcript": ["Verlauf", "Transcript"],
  "detail.noRecording": [
    "Keine Aufnahme (ohne Einwilligung wird nicht aufgezeichnet).",
    "No recording (calls are recorded only with consent).",
  ],
  "detail.noTranscript": ["Kein Verlauf.", "No transcript."],
  "detail.playFrom": ["Aufnahme ab hier abspielen", "Play the recording from here"],
  "detail.latency": ["Antwortzeit der Box", "The box's response time"],
  "detail.downloadTxt": ["Verlauf als Text", "Transcript as text"],
  "detail.downloadJson": ["Verlauf als JSON", "Transcript as JSON"],
  "detail.data": ["Erfasste Daten", "Captured data"],
  "detail.noData": ["Nichts erfasst.", "Nothing captured."],
  "detail.actions": ["Aktionen", "Actions"],
  "detail.noActions": ["Keine Aktionen.", "No actions."],
  "detail.action": ["Aktion", "Action"],
  "detail.state": ["Zustand", "State"],
  "detail.attempts": ["Versuche", "Attempts"],
  "detail.facts": "Details",
  "detail.intent": ["Anliegen", "Concern"],
  "detail.window": ["Zeitfenster", "Time window"],
  "detail.consent": ["Aufnahme erlaubt", "Recording allowed"],
  "detail.hangup": ["Ende", "End"],
  "detail.codec": "Codec",
  "detail.agents": ["Agenten", "Agents"],
  "detail.callerUri": ["Anrufer-URI", "Caller URI"],
  "detail.events": ["Ereignisse ({n})", "Events ({n})"],
  "speaker.caller": ["Anrufer", "Caller"],
  "speaker.agent": "Box",
  "speaker.box": "Box",
  "speaker.human": ["Mitarbeiter", "Staff"],
  "speaker.system": "System",
  "side.caller": ["Anrufer hat aufgelegt", "caller hung up"],
  "side.box": ["Box hat aufgelegt", "box hung up"],
  "action.pending": ["ausstehend", "pending"],
  "action.delivered": ["zugestellt", "delivered"],
  "action.failed": ["fehlgeschlagen", "failed"],
  "action.dead": ["aufgegeben", "given up"],
  "action.done": ["erledigt", "done"],
  "template.operator": ["Vermittlung", "Operator"],
  "template.workflow": ["Formular", "Workflow"],
  "template.voicemail": ["Anrufbeantworter", "Voicemail"],
  "template.faq": "FAQ",
  "template.human": ["Mensch", "Human"],
  "agents.basics": ["Grundeinstellungen", "Basics"],
  "agents.add": ["Agent hinzufügen", "Add agent"],
  "agents.id": ["Kennung", "Id"],
  "agents.name": "Name",
  "agents.template": ["Vorlage", "Template"],
  "agents.language": ["Sprache", "Language"],
  "agents.langDefault": ["wie die Box", "as the box"],
  "agents.formality": ["Anrede", "Form of address"],
  "agents.sie": ["Sie", "formal (Sie)"],
  "agents.du": ["du", "informal (du)"],
  "agents.recording": ["Aufnahme", "Recording"],
  "agents.recConsent": ["nach Einwilligung", "after consent"],
  "agents.recOff": ["nie", "never"],
  "agents.greeting": ["Begrüßung", "Greeting"],
  "agents.disclosure": ["KI-Hinweis", "AI disclosure"],
  "agents.disclosureHint": [
    "Wird zuerst gesagt (EU AI Act Art. 50). Leer: der eingebaute Satz.",
    "Said first (EU AI Act Art. 50). Empty: the built-in sentence.",
  ],
  "agents.customFlow": [
    "Dieser Agent hat einen eigenen Ablauf, der die Vorlage ersetzt.",
    "This agent has a custom flow that replaces the template.",
  ],
  "agents.intents": ["Anliegen", "Concerns"],
  "agents.intentsHint": [
    "Pro Anliegen einige Beispielsätze, einer pro Zeile.",
    "A few example sentences per concern, one per line.",
  ],
  "agents.intentId": ["Kennung", "Id"],
  "agents.examples": ["Beispiele", "Examples"],
  "agents.addIntent": ["Anliegen hinzufügen", "Add concern"],
  "agents.routes": ["Weiterleitungen", "Routes"],
  "agents.intent": ["Anliegen", "Concern"],
  "agents.to": ["Ziel", "Target"],
  "agents.addRoute": ["Weiterleitung hinzufügen", "Add route"],
  "agents.form": ["Formularfelder", "Form fields"],
  "agents.slotName": ["Feld", "Field"],
  "agents.slotType": ["Art", "Kind"],
  "agents.pattern": ["Muster (regulärer Ausdruck)", "Pattern (regular expression)"],
  "agents.prompt": ["Frage", "Question"],
  "agents.retry": ["Bei ungültiger Antwort", "On an invalid answer"],
  "agents.addField": ["Feld hinzufügen", "Add field"],
  "agents.action": ["Aktion", "Action"],
  "agents.maxMessageS": ["Längste Nachricht (Sekunden)", "Longest message (seconds)"],
  "agents.faqCount": ["{n} Wissenseinträge.", "{n} knowledge entries."],
  "agents.target": ["Wen anrufen", "Whom to ring"],
  "agents.timeoutS": ["Klingeln bis zur Alternative (Sekunden)", "Ring before the fallback (seconds)"],
  "agents.escalation": ["Übergabe an einen Menschen", "Hand-over to a human"],
  "agents.escalateTo": ["Ziel", "Target"],
  "agents.escalateToHint": [
    "Ohne Ziel bietet die Box eine Nachricht oder einen Rückruf an.",
    "Without a target the box offers a message or a call back.",
  ],
  "agents.noMatchLimit": ["Nicht verstanden, so oft in Folge", "Not understood, times in a row"],
  "agents.sentimentBelow": ["Stimmung unter (-1 … 0)", "Sentiment below (-1 … 0)"],
  "agents.keywords": ["Auf Wunsch („Mitarbeiter“, „Mensch“)", "On request (“agent”, “human”)"],
  "agents.outOfKnowledge": ["Bei Fragen ohne Antwort", "On questions without an answer"],
  "agents.repeatedQuestion": ["Bei wiederholter Frage", "On a repeated question"],
  "agents.disconnect": ["Nach dem Anruf", "After the call"],
  "agents.disconnectHint": [
    "Aktionen nach jedem Anruf, der mit diesem Agenten endet (z. B. CRM-Eintrag).",
    "Actions after every call that ends with this agent (e.g. a CRM entry).",
  ],
  "agents.when": ["Nur bei", "Only on"],
  "agents.addDisconnect": ["Aktion hinzufügen", "Add action"],
  "agents.delete": ["Agent löschen", "Delete agent"],
  "agents.deleteAsk": [
    "Agent „{id}“ löschen? Erst mit „Speichern“ wirksam.",
    "Delete agent “{id}”? Takes effect when you save.",
  ],
  "agents.sampleName": ["Wie ist Ihr Name?", "May I have your name?"],
  "agents.sampleQuestion": ["Wann haben Sie geöffnet?", "When are you open?"],
  "agents.sampleAnswer": [
    "Wir sind Montag bis Freitag von 9 bis 17 Uhr für Sie da.",
    "We are open Monday to Friday from nine to five.",
  ],
  "slot.name": "Name",
  "slot.phone": ["Telefonnummer", "Phone number"],
  "slot.email": ["E-Mail", "E-mail"],
  "slot.number": ["Zahl", "Number"],
  "slot.digits": ["Ziffern", "Digits"],
  "slot.date": ["Datum", "Date"],
  "slot.time": ["Uhrzeit", "Time"],
  "slot.datetime": ["Datum und Uhrzeit", "Date and time"],
  "slot.postcode": ["Postleitzahl", "Postcode"],
  "slot.iban": "IBAN",
  "slot.pattern": ["Muster", "Pattern"],
  "slot.yesno": ["Ja/Nein", "Yes/no"],
  "slot.text": ["Freitext", "Free text"],
  "target.kind": ["Art des Ziels", "Kind of target"],
  "target.none": ["keins", "none"],
  "target.agent": "Agent",
  "target.queue": ["Warteschlange", "Queue"],
  "target.number": ["Rufnummer", "Phone number"],
  "target.sip": ["SIP-Adresse", "SIP address"],
  "target.value": ["Ziel", "Target"],
  "target.trunk": "Trunk (optional)",
  "windows.intro": [
    "Das erste passende Zeitfenster bestimmt, welcher Agent den Anruf annimmt. Das letzte gilt immer.",
    "The first matching time window decides which agent takes the call. The last one always applies.",
  ],
  "windows.none": ["Noch keine Zeitfenster", "No time windows yet"],
  "windows.noneHint": [
    "Ohne Zeitfenster nehmen die Agenten keine Anrufe an.",
    "Without time windows the agents take no calls.",
  ],
  "windows.create": ["Zeitfenster anlegen", "Create time windows"],
  "windows.general": ["Allgemein", "General"],
  "windows.list": ["Zeitfenster für", "Time windows for"],
  "windows.default": ["alle Nummern", "all numbers"],
  "windows.forNumber": ["Nummer {did}", "number {did}"],
  "windows.timeZone": ["Zeitzone", "Time zone"],
  "windows.region": ["Feiertage", "Public holidays"],
  "windows.week": ["Wochenansicht", "Week view"],
  "windows.weekHint": [
    "Feiertage und Ausnahmen gelten zusätzlich an ihren Tagen.",
    "Public holidays and exceptions apply on top, on their dates.",
  ],
  "windows.add": ["Zeitfenster hinzufügen", "Add time window"],
  "windows.id": ["Kennung", "Id"],
  "windows.agent": "Agent",
  "windows.pickAgent": ["– Agent wählen –", "– choose an agent –"],
  "windows.always": ["Gilt immer (Rückfall)", "Always applies (fallback)"],
  "windows.up": ["Nach oben", "Move up"],
  "windows.down": ["Nach unten", "Move down"],
  "windows.remove": ["Zeitfenster entfernen", "Remove time window"],
  "windows.weekly": ["Wochenzeiten", "Weekly hours"],
  "windows.addRange": ["Zeitraum am {day} hinzufügen", "Add a range on {day}"],
  "windows.removeRange": ["Zeitraum entfernen", "Remove range"],
  "windows.holidays": ["An Feiertagen", "On public holidays"],
  "windows.hol.closed": ["geschlossen", "closed"],
  "windows.hol.only": ["nur an Feiertagen", "on holidays only"],
  "windows.hol.ignore": ["wie an Werktagen", "as on working days"],
  "windows.exceptions": ["Ausnahmen", "Exceptions"],
  "windows.exc.add": ["Ausnahme hinzufügen", "Add exception"],
  "windows.exc.kind": ["Art", "Kind"],
  "windows.exc.day": ["ein Tag", "one day"],
  "windows.exc.span": ["Zeitraum", "date range"],
  "windows.exc.date": ["Datum", "Date"],
  "windows.exc.from": ["Von", "From"],
  "windows.exc.to": ["Bis", "To"],
  "windows.exc.ranges": ["Zeiten an diesen Tagen", "Hours on these dates"],
  "windows.exc.closed": ["leer = geschlossen", "empty = closed"],
  "windows.exc.note": ["Notiz", "Note"],
  "day.mon": ["Mo", "Mon"],
  "day.tue": ["Di", "Tue"],
  "day.wed": ["Mi", "Wed"],
  "day.thu": ["Do", "Thu"],
  "day.fri": ["Fr", "Fri"],
  "day.sat": ["Sa", "Sat"],
  "day.sun": ["So", "Sun"],
  "region.DE": ["bundesweit", "nationwide"],
  "region.DE-BW": "Baden-Württemberg",
  "region.DE-BY": ["Bayern", "Bavaria"],
  "region.DE-BE": "Berlin",
  "region.DE-BB": "Brandenburg",
  "region.DE-HB": "Bremen",
  "region.DE-HH": "Hamburg",
  "region.DE-HE": ["Hessen", "Hesse"],
  "region.DE-MV": ["Mecklenburg-Vorpommern", "Mecklenburg-Western Pomerania"],
  "region.DE-NI": ["Niedersachsen", "Lower Saxony"],
  "region.DE-NW": ["Nordrhein-Westfalen", "North Rhine-Westphalia"],
  "region.DE-RP": ["Rheinland-Pfalz", "Rhineland-Palatinate"],
  "region.DE-SL": "Saarland",
  "region.DE-SN": ["Sachsen", "Saxony"],
  "region.DE-ST": ["Sachsen-Anhalt", "Saxony-Anhalt"],
  "region.DE-SH": "Schleswig-Holstein",
  "region.DE-TH": ["Thüringen", "Thuringia"],
  "flows.agent": "Agent",
  "flows.noAgents": ["Noch keine Agenten.", "No agents yet."],
  "flows.custom": ["Eigener Ablauf: ersetzt den Ablauf der Vorlage.", "Custom flow: replaces the template's flow."],
  "flows.template": [
    "Dieser Agent folgt seiner Vorlage. Ein eigener Ablauf hier ersetzt sie.",
    "This agent follows its template. A custom flow here replaces it.",
  ],
  "flows.editor": ["Ablauf (JSON)", "Flow (JSON)"],
  "flows.placeholder": ['[ { "type": "say", "text": "…" } ]', '[ { "type": "say", "text": "…" } ]'],
  "flows.format": ["Formatieren", "Format"],
  "flows.example": ["Beispiel einfügen", "Insert example"],
  "flows.validate": ["Prüfen", "Validate"],
  "flows.valid": ["Keine Probleme gefunden.", "No problems found."],
  "flows.badJson": ["Kein gültiges JSON: {msg}", "Not valid JSON: {msg}"],
  "flows.notList": ["Ein Ablauf ist eine Liste von Schritten.", "A flow is a list of steps."],
  "flows.outline": ["Schritte", "Steps"],
  "flows.noOutline": ["Erst gültiges JSON, dann Schritte.", "Valid JSON first, then steps."],
  "flows.graph": ["Ablauf als Bild", "Flow graph"],
  "flows.graphOf": ["Ablauf von {agent}", "Flow of {agent}"],
  "flows.noGraph": ["Kein Ablauf.", "No flow."],
  "knowledge.unanswered": ["Unbeantwortete Fragen", "Unanswered questions"],
  "knowledge.state": ["Anzeigen", "Show"],
  "knowledge.noQuestions": ["Keine Fragen.", "No questions."],
  "knowledge.call": ["Gespräch", "chat"],
  "knowledge.add": ["Als Eintrag übernehmen", "Add as entry"],
  "knowledge.dismiss": ["Verwerfen", "Dismiss"],
  "knowledge.entries": ["Wissenseinträge", "Knowledge entries"],
  "knowledge.agent": "Agent",
  "knowledge.hint": [
    "Mehrere Formulierungen der Frage, eine pro Zeile, und die Antwort, die die Box sagt.",
    "Several wordings of the question, one per line, and the answer the box says.",
  ],
  "knowledge.questions": ["Fragen", "Questions"],
  "knowledge.answer": ["Antwort", "Answer"],
  "knowledge.addEntry": ["Eintrag hinzufügen", "Add entry"],
  "question.open": ["offen", "open"],
  "question.answered": ["beantwortet", "answered"],
  "question.dismissed": ["verworfen", "dismissed"],
  "numbers.trunks": ["SIP-Trunks", "SIP trunks"],
  "numbers.noTrunks": ["Noch kein Trunk.", "No trunk yet."],
  "numbers.unknownState": ["Zustand unbekannt", "state unknown"],
  "numbers.id": ["Kennung", "Id"],
  "numbers.domain": ["Domain des Anbieters", "Provider domain"],
  "numbers.transport": "Transport",
  "numbers.username": ["Benutzername", "User name"],
  "numbers.authUsername": ["Auth-Benutzer (falls anders)", "Auth user (if different)"],
  "numbers.password": ["Passwort", "Password"],
  "numbers.passwordHint": ["„********“ behält das gespeicherte Passwort.", "“********” keeps the stored password."],
  "numbers.registrar": "Registrar",
  "numbers.proxy": ["Outbound-Proxy", "Outbound proxy"],
  "numbers.expiresS": ["Registrierung gültig (Sekunden)", "Registration expiry (seconds)"],
  "numbers.keepalive": "Keep-alive",
  "numbers.srtp": ["Verschlüsselte Sprache (SRTP)", "Encrypted media (SRTP)"],
  "numbers.srtpHint": [
    "optional: SRTP, wenn der Anbieter es anbietet; mandatory: nur SRTP. Schlüssel stehen im SDP: mit TLS nutzen.",
    "optional: SRTP when the provider offers it; mandatory: SRTP only. Keys travel in the SDP: use with TLS.",
  ],
  "numbers.callerId": ["Absendernummer", "Caller ID"],
  "numbers.callerIdHeader": ["Absender im Header", "Caller ID header"],
  "numbers.dids": ["Rufnummern", "Numbers"],
  "numbers.peers": ["Erlaubte Gegenstellen (PBX)", "Allowed peers (PBX)"],
  "numbers.register": ["Beim Anbieter registrieren", "Register with the provider"],
  "numbers.addTrunk": ["Trunk hinzufügen", "Add trunk"],
  "numbers.numbers": ["Rufnummern mit eigenen Zeitfenstern", "Numbers with their own time windows"],
  "numbers.numbersHint": [
    "Anrufe an diese Nummern folgen eigenen Zeitfenstern, alle anderen den allgemeinen.",
    "Calls to these numbers follow their own time windows, all others the general ones.",
  ],
  "numbers.noNumbers": [
    "Alle Nummern folgen den allgemeinen Zeitfenstern.",
    "All numbers follow the general time windows.",
  ],
  "numbers.noRouting": ["Zuerst Zeitfenster anlegen:", "Create time windows first:"],
  "numbers.did": ["Rufnummer", "Number"],
  "numbers.windowCount": ["{n} Zeitfenster", "{n} time windows"],
  "numbers.editWindows": ["Zeitfenster bearbeiten", "Edit time windows"],
  "numbers.addNumber": ["Nummer hinzufügen", "Add number"],
  "numbers.explain": ["Wer nimmt ab?", "Who answers?"],
  "numbers.at": ["Zeitpunkt", "Time"],
  "numbers.explainRun": ["Prüfen", "Check"],
  "numbers.explainResult": [
    "Agent {agent} (Zeitfenster {window}): {reason}",
    "Agent {agent} (time window {window}): {reason}",
  ],
  "users.list": ["Alle Benutzer", "All users"],
  "users.name": ["Benutzer", "User"],
  "users.displayName": ["Anzeigename", "Display name"],
  "users.role": ["Rolle", "Role"],
  "users.state": ["Zustand", "State"],
  "users.you": ["Sie", "you"],
  "users.active": ["aktiv", "active"],
  "users.locked": ["gesperrt bis {until}", "locked until {until}"],
  "users.mustChange": ["muss Passwort ändern", "must change password"],
  "users.unlock": ["Entsperren", "Unlock"],
  "users.unlocked": ["Entsperrt.", "Unlocked."],
  "users.reset": ["Passwort zurücksetzen", "Reset password"],
  "users.resetAsk": [
    "Neues Startpasswort für {name}: {password} – bitte notieren und weitergeben.",
    "New start password for {name}: {password} – please note it and pass it on.",
  ],
  "users.resetDone": ["Passwort von {name} zurückgesetzt.", "Password of {name} reset."],
  "users.deleteAsk": ["Benutzer {name} löschen?", "Delete user {name}?"],
  "users.deleted": ["Gelöscht.", "Deleted."],
  "users.new": ["Neuer Benutzer", "New user"],
  "users.startPassword": ["Startpasswort", "Start password"],
  "users.startPasswordHint": [
    "Muss bei der ersten Anmeldung geändert werden.",
    "Must be changed at the first sign-in.",
  ],
  "users.create": ["Anlegen", "Create"],
  "users.created": ["{name} angelegt.", "{name} created."],
  "role.admin": "Administrator",
  "role.staff": ["Mitarbeiter", "Staff"],
  "retention.title": ["Aufbewahrung", "Retention"],
  "retention.days": ["Gespräche und Aufnahmen aufbewahren (Tage)", "Keep chats and recordings (days)"],
  "retention.daysHint": [
    "0 = unbegrenzt. Ältere werden jede Nacht gelöscht.",
    "0 = forever. Older ones are deleted every night.",
  ],
  "retention.exports": "Export",
  "retention.exportsHint": [
    "Die Gesprächsliste als Tabelle. Jeder Export wird protokolliert.",
    "The chat list as a table. Every export is written to the audit log.",
  ],
  "gdpr.title": ["Daten eines Anrufers löschen (DSGVO)", "Delete a caller's data (GDPR)"],
  "gdpr.intro": [
    "Löscht alle Gespräche, Aufnahmen, ausstehenden Aktionen und Fragen dieser Nummer. Das kann nicht rückgängig gemacht werden.",
    "Deletes all chats, recordings, pending actions and questions of this number. This cannot be undone.",
  ],
  "gdpr.number": ["Rufnummer", "Phone number"],
  "gdpr.delete": ["Endgültig löschen", "Delete for good"],
  "gdpr.ask": [
    "Alles zu {number} löschen? Zur Bestätigung die Nummer noch einmal eingeben.",
    "Delete everything about {number}? Type the number again to confirm.",
  ],
  "gdpr.done": [
    "{number}: {calls} Gespräche, {recordings} Aufnahmen, {outbox} Aktionen, {questions} Fragen gelöscht.",
    "{number}: deleted {calls} chats, {recordings} recordings, {outbox} actions, {questions} questions.",
  ],
  "system.box": "Box",
  "system.version": "Version",
  "system.configVersion": ["Konfiguration", "Configuration"],
  "system.uptime": ["Läuft seit", "Running for"],
  "system.health": ["Zustand", "Health"],
  "system.cpu": ["Prozessor", "Processor"],
  "system.memory": ["Speicher", "Memory"],
  "system.disk": ["Datenträger", "Disk"],
  "system.diskFree": ["{free} frei", "{free} free"],
  "system.temperature": ["Temperatur", "Temperature"],
  "system.healthy": ["Alles in Ordnung.", "All good."],
  "system.speech": ["Sprache und Modelle", "Speech and models"],
  "system.engine.vad": ["Spracherkennung (VAD)", "Voice activity (VAD)"],
  "system.engine.denoiser": ["Rauschunterdrückung", "Noise suppression"],
  "system.engine.tts": ["Stimme (TTS)", "Voice (TTS)"],
  "system.engine.asr": ["Spracherkennung (ASR)", "Speech recognition (ASR)"],
  "system.none": ["keine", "none"],
  "system.task": ["Aufgabe", "Task"],
  "system.model": ["Modell", "Model"],
  "system.modelVersion": "Version",
  "system.source": ["Quelle", "Source"],
  "system.language": ["Sprache", "Language"],
  "system.noModels": ["Keine Modelle installiert.", "No models installed."],
  "system.logs": ["Protokollzeilen", "Log lines"],
  "system.level": ["Stufe", "Level"],
  "system.allLevels": ["alle", "all"],
  "system.noLogs": ["Keine Zeilen.", "No lines."],
  "audit.at": ["Zeit", "Time"],
  "audit.user": ["Benutzer", "User"],
  "audit.address": ["Adresse", "Address"],
  "audit.action": ["Aktion", "Action"],
  "audit.target": ["Ziel", "Target"],
  "audit.detail": "Details",
  "audit.none": ["Noch keine Einträge.", "No entries yet."],
  "soft.staff": ["Anrufe im Browser annehmen", "Take calls in the browser"],
  "soft.available": ["Ich bin erreichbar ({user})", "I am available ({user})"],
  "soft.availableOn": [
    "Sie sind erreichbar: eingehende Anrufe klingeln unten rechts, auf jeder Seite.",
    "You are available: incoming calls ring at the bottom right, on every page.",
  ],
  "soft.availableOff": ["Sie sind nicht erreichbar.", "You are not available."],
  "soft.availableHint": ["Ziel in Abläufen: {target}", "Target in flows: {target}"],
  "soft.test": ["Testanruf", "Test call"],
  "soft.testHint": [
    "Ruft einen Agenten direkt aus dem Browser an, mit Mikrofon und Lautsprecher.",
    "Calls an agent straight from the browser, with microphone and speaker.",
  ],
  "soft.agent": "Agent",
  "soft.call": ["Anrufen", "Call"],
  "soft.hangup": ["Auflegen", "Hang up"],
  "soft.mute": ["Stumm", "Mute"],
  "soft.unmute": ["Ton an", "Unmute"],
  "soft.idle": ["Bereit.", "Ready."],
  "soft.connecting": ["Verbinde …", "Connecting …"],
  "soft.ringingAgent": ["Verbinde mit {agent} …", "Connecting to {agent} …"],
  "soft.inCall": ["Im Gespräch mit {agent}.", "In a call with {agent}."],
  "soft.ended": ["Gespräch beendet.", "Call ended."],
  "soft.openChat": ["Gespräch öffnen", "Open the chat"],
  "soft.transcript": ["Live-Verlauf", "Live transcript"],
  "soft.micDenied": [
    "Kein Zugriff auf das Mikrofon. Bitte im Browser erlauben.",
    "No access to the microphone. Please allow it in the browser.",
  ],
  "soft.micMissing": ["Mikrofon nicht verfügbar: {msg}", "Microphone not available: {msg}"],
  "soft.incoming": ["Anruf von {caller}", "Call from {caller}"],
  "soft.talking": ["Im Gespräch mit {caller}", "Talking to {caller}"],
  "soft.answer": ["Annehmen", "Answer"],
  "soft.decline": ["Ablehnen", "Decline"],
  "soft.hold": ["Halten", "Hold"],
  "soft.resume": ["Fortsetzen", "Resume"],
  "soft.busy": ["Sie sind schon im Gespräch.", "You are already in a call."],
};
const LANG_INDEX = { de: 0, en: 1 };

function initial() {
  try {
    const saved = globalThis.localStorage?.getItem(KEY);
    if (saved && saved in LANG_INDEX) return saved;
  } catch {
    // storage blocked: fall through to the browser's language
  }
  return String(globalThis.navigator?.language ?? "en")
    .toLowerCase()
    .startsWith("de")
    ? "de"
    : "en";
}

let current = initial();

export function lang() {
  return current;
}

export function setLang(l) {
  if (!(l in LANG_INDEX)) return;
  current = l;
  cache.clear();
  try {
    globalThis.localStorage?.setItem(KEY, l);
  } catch {
    // not remembered, still switched
  }
  if (globalThis.document) document.documentElement.lang = l;
}

/** The browser's own locale when it speaks the chosen language (en-US dates for en-US), else a sensible default. */
export function locale() {
  const nav = globalThis.navigator?.language ?? "";
  if (nav.toLowerCase().startsWith(current)) return nav;
  return current === "de" ? "de-DE" : "en-GB";
}

function text(key) {
  const e = TEXTS[key];
  return typeof e === "string" ? e : e?.[LANG_INDEX[current]];
}

/** t("chats.total", { n: 3 }) -> "3 chats"; a missing key shows as itself, so it is seen and fixed. */
export function t(key, vars) {
  const s = text(key) ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k]))) : s;
}

/** A value the server names (a state, an outcome): its translation when there is one, else the value itself. */
export function tv(prefix, value) {
  if (value === undefined || value === null) return "";
  const key = `${prefix}${value}`;
  return text(key) ?? String(value);
}

const cache = new Map();
function fmt(kind, options) {
  const key = `${kind}:${JSON.stringify(options)}`;
  let f = cache.get(key);
  if (!f) {
    f = kind === "date" ? new Intl.DateTimeFormat(locale(), options) : new Intl.NumberFormat(locale(), options);
    cache.set(key, f);
  }
  return f;
}

/** A point in time; `seconds` for log lines. */
export function fmtDateTime(ms, seconds = false) {
  if (ms === undefined || ms === null || Number.isNaN(Number(ms))) return "";
  return fmt("date", { dateStyle: "medium", timeStyle: seconds ? "medium" : "short" }).format(new Date(Number(ms)));
}

export function fmtNumber(n) {
  return n === undefined || n === null ? "–" : fmt("number", {}).format(n);
}

export function fmtPct(x) {
  return x === undefined || x === null ? "–" : fmt("number", { style: "percent", maximumFractionDigits: 0 }).format(x);
}

export function fmtMs(ms) {
  if (ms === undefined || ms === null) return "–";
  return ms >= 10_000
    ? `${fmt("number", { maximumFractionDigits: 1 }).format(ms / 1000)} s`
    : `${fmt("number", { maximumFractionDigits: 0 }).format(ms)} ms`;
}

/** 65_000 -> "1:05", 3_723_000 -> "1:02:03". */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.round((ms ?? 0) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** An offset into a call, "mm:ss". */
export function fmtClock(ms) {
  return fmtDuration(ms);
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${fmt("number", { maximumFractionDigits: v < 10 && i ? 1 : 0 }).format(v)} ${units[i]}`;
}

export function fmtUptime(s) {
  if (s === undefined || s === null) return "–";
  const d = Math.floor(s / 86400);
  const rest = fmtDuration((s % 86400) * 1000);
  return d ? `${d} d ${rest}` : rest;
}
