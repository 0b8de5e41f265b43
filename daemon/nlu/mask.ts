// Account numbers in transcripts and logs: IBANs (mod-97) and payment card numbers (Luhn). Masking needs the checksum
// so that ordinary phone and order numbers stay readable: only a number that is an account number is hidden.

/** IBAN length per country (ISO 13616 registry). */
export const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AT: 20,
  BE: 16,
  BG: 22,
  CH: 21,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  EE: 20,
  ES: 24,
  FI: 18,
  FR: 27,
  GB: 22,
  GR: 27,
  HR: 21,
  HU: 28,
  IE: 22,
  IS: 26,
  IT: 27,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MT: 31,
  NL: 18,
  NO: 15,
  PL: 28,
  PT: 25,
  RO: 24,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
};

/** BBAN layout where we know it: tells a spoken letter O from a zero and catches a misheard digit early. */
const BBAN_FORMATS: Record<string, RegExp> = {
  DE: /^\d{18}$/,
  AT: /^\d{16}$/,
  BE: /^\d{12}$/,
  CH: /^\d{5}[A-Z0-9]{12}$/,
  ES: /^\d{20}$/,
  FR: /^\d{10}[A-Z0-9]{11}\d{2}$/,
  GB: /^[A-Z]{4}\d{14}$/,
  IT: /^[A-Z]\d{10}[A-Z0-9]{12}$/,
  LU: /^\d{3}[A-Z0-9]{13}$/,
  NL: /^[A-Z]{4}\d{10}$/,
};

export type IbanCheck = { ok: true } | { ok: false; reason: "format" | "checksum"; detail: string };

/** Whether a compact upper-case IBAN has its country's length and layout and a matching mod-97 checksum. */
export function checkIban(iban: string): IbanCheck {
  const country = iban.slice(0, 2);
  const length = IBAN_LENGTHS[country];
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return { ok: false, reason: "format", detail: "not an IBAN" };
  if (!length) return { ok: false, reason: "format", detail: `IBANs from ${country} are not supported` };
  if (iban.length !== length)
    return {
      ok: false,
      reason: "format",
      detail: `an IBAN from ${country} has ${length} characters, heard ${iban.length}`,
    };
  const bban = BBAN_FORMATS[country];
  if (bban && !bban.test(iban.slice(4)))
    return { ok: false, reason: "format", detail: `the account part does not fit an IBAN from ${country}` };
  if (mod97(iban.slice(4) + iban.slice(0, 4)) !== 1)
    return { ok: false, reason: "checksum", detail: "IBAN checksum does not match" };
  return { ok: true };
}

function mod97(s: string): number {
  let r = 0;
  for (const ch of s) {
    const v = ch >= "A" && ch <= "Z" ? ch.charCodeAt(0) - 55 : Number(ch);
    r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}

/** The Luhn check of a digit string (payment cards). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** "DE89 3704 0044 0532 0130 00" */
export function groupsOfFour(s: string): string {
  return s.replace(/(.{4})(?=.)/g, "$1 ");
}

/** An IBAN start: country letters and check digits, not inside a longer word. */
const IBAN_START = /(?<![\p{L}\d])[A-Za-z]{2}\d{2}/gu;

/**
 * A card number: 13–19 digits in groups separated by single spaces or dashes, not starting with 0 (phone numbers
 * do), not after "+" (international phone numbers) and not part of a longer digit or letter run.
 */
const CARD = /(?<![+\d][ -]?)(?<![\p{L}\d])[1-9](?:[ -]?\d){12,18}(?![ -]?\d)(?![\p{L}])/gu;

/** The text with IBANs ("DE89 **** **** **** **** 00") and payment card numbers ("**** **** **** 1234") masked. */
export function maskSensitive(text: string): string {
  return maskCards(maskIbans(text));
}

function maskIbans(text: string): string {
  let out = "";
  let at = 0;
  for (const m of text.matchAll(IBAN_START)) {
    if (m.index < at) continue;
    const end = ibanEnd(text, m.index);
    if (end === undefined) continue;
    const iban = text.slice(m.index, end).replace(/ /g, "").toUpperCase();
    const masked = iban.slice(0, 4) + "*".repeat(iban.length - 6) + iban.slice(-2);
    out += text.slice(at, m.index) + groupsOfFour(masked);
    at = end;
  }
  return out + text.slice(at);
}

/** Where a valid IBAN that starts at `start` ends (written compact or with single spaces), if one does. */
function ibanEnd(text: string, start: number): number | undefined {
  const length = IBAN_LENGTHS[text.slice(start, start + 2).toUpperCase()];
  if (!length) return undefined;
  let count = 0;
  let i = start;
  while (i < text.length && count < length) {
    const ch = text[i];
    if (/[A-Za-z0-9]/.test(ch)) count++;
    else if (!(ch === " " && i > start && /[A-Za-z0-9]/.test(text[i + 1] ?? ""))) break;
    i++;
  }
  if (count !== length || /[\p{L}\d]/u.test(text[i] ?? "")) return undefined;
  const iban = text.slice(start, i).replace(/ /g, "").toUpperCase();
  return checkIban(iban).ok ? i : undefined;
}

function maskCards(text: string): string {
  return text.replace(CARD, (m) => {
    const digits = m.replace(/\D/g, "");
    return luhnValid(digits) ? `**** **** **** ${digits.slice(-4)}` : m;
  });
}
