/**
 * A phone number in every way it is written, for erasure: the pattern that finds an E.164 number in stored text
 * whatever its spelling (`+33 6 12 34 56 78`, `0033612345678`, `06.12.34.56.78`, `+33 (0)6 12...`), and the numbers a
 * delivery mentions, in E.164, for the erasure tombstones.
 *
 * A match never starts or ends next to another digit, nor next to a dot that touches one: a number's digits inside a
 * longer run of digits (or a decimal, `0.0612345678`) are something else. The pattern is a regular expression that
 * PostgreSQL and JavaScript read alike.
 */
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Delivery } from './payload.ts';

/** What people and systems put between a number's digits: spaces (no-break and thin ones too), dots, dashes, slashes, brackets. */
const SEPARATORS = ' .()/\u00a0\u2009\u202f-';
const SEPARATOR = `[${SEPARATORS}]{0,3}`;
const NOT_AFTER_DIGITS = '(?<![0-9])(?<![0-9][.])';
const NOT_BEFORE_DIGITS = '(?![0-9])(?![.][0-9])';

/**
 * The digit strings a number is written as: international after `+`, after `00` or bare, national (`0612345678`,
 * `4155550123`), and the national trunk prefix kept after the country code (`+33 (0)6...`).
 */
export function writtenForms(e164: string): string[] {
  const international = e164.slice(1);
  const forms = [`+${international}`, `00${international}`, international];
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed) {
    const national = parsed.format('NATIONAL').replace(/\D/g, '');
    forms.push(national);
    if (national !== parsed.nationalNumber) forms.push(`+${parsed.countryCallingCode}${national}`);
  }
  return [...new Set(forms)];
}

/** A regular expression (PostgreSQL and JavaScript) matching the number in any of its written forms. */
export function mentionPattern(e164: string): string {
  const spelled = writtenForms(e164).map((form) => [...form].map((character) => (character === '+' ? '\\+' : character)).join(SEPARATOR));
  return `${NOT_AFTER_DIGITS}(?:${spelled.join('|')})${NOT_BEFORE_DIGITS}`;
}

/** Something written like a phone number: an optional `+` or `00`, then 6 to 17 digits with separators between them. */
const CANDIDATE = new RegExp(`${NOT_AFTER_DIGITS}\\+?[0-9](?:[${SEPARATORS}]{0,3}[0-9]){5,16}${NOT_BEFORE_DIGITS}`, 'g');

/**
 * Every number the delivery's records mention, in E.164: their phone number fields, and what is written like a number
 * in the parts an erasure redacts (order metadata and unknown fields, attempts' structured output and unknown
 * fields), read as international, and as national in the countries of the delivery's own numbers. Transcripts are
 * not read: a number spoken in someone else's call is part of their record, which erasure leaves.
 */
export function deliveryNumbers({ order, attempts }: Delivery): Set<string> {
  const numbers = new Set([order.fromPhoneNumber, order.toPhoneNumber, ...attempts.map((attempt) => attempt.phoneNumber)]);
  const countries = new Set<CountryCode>();
  for (const number of numbers) {
    const country = parsePhoneNumberFromString(number)?.country;
    if (country) countries.add(country);
  }
  const text = JSON.stringify([order.metadata, order.extra, ...attempts.flatMap((attempt) => [attempt.structuredOutput, attempt.extra])]);
  for (const [written] of text.matchAll(CANDIDATE)) {
    const digits = written.replace(/\D/g, '');
    const international = written.startsWith('+') ? digits : digits.startsWith('00') ? digits.slice(2) : undefined;
    const readings =
      international === undefined
        ? [digits, ...[...countries].map((country) => parsePhoneNumberFromString(written, country)?.number)]
        : [international, parsePhoneNumberFromString(`+${international}`)?.number];
    for (const reading of readings) if (reading) numbers.add(reading.startsWith('+') ? reading : `+${reading}`);
  }
  return numbers;
}
