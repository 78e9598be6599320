#!/usr/bin/env node
// Writes public/samples/calendar-lines.jsonl: 300 short chat examples for a clear, learnable task
// (turn a casual sentence about a meeting into one fixed-format calendar line), so a first-time
// user can try the whole flow. Written by us from the word lists below; deterministic (seeded).
//
//   node scripts/make-sample-dataset.mjs [count] [outFile]
//
// Input:  "Can we grab coffee with Priya at the Blue Door Cafe on March 3 at 2:30 pm?"
// Output: "EVENT: Coffee with Priya | WHERE: Blue Door Cafe | WHEN: 03-03 14:30"

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const count = Number(process.argv[2] ?? 300);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outFile = resolve(root, process.argv[3] ?? 'public/samples/calendar-lines.jsonl');

// Mulberry32, so the file is identical on every run.
let state = 20250301;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];

const PEOPLE = ['Priya', 'Tom', 'Ana', 'Kenji', 'Fatima', 'Lukas', 'Maria', 'Sam', 'Olu', 'Chen', 'Noor', 'Pablo', 'Ingrid', 'Ravi', 'Zoe', 'the design team', 'my manager', 'the landlord', 'Grandma', 'the dentist'];
const ACTIVITIES = [
  ['coffee', 'Coffee'],
  ['lunch', 'Lunch'],
  ['dinner', 'Dinner'],
  ['a call', 'Call'],
  ['a meeting', 'Meeting'],
  ['a walk', 'Walk'],
  ['a review', 'Review'],
  ['a checkup', 'Checkup'],
  ['drinks', 'Drinks'],
  ['a study session', 'Study session'],
];
const PLACES = ['Blue Door Cafe', 'the office', 'Central Library', 'Room 4B', 'Riverside Park', 'Luigi\'s', 'the gym', 'Zoom', 'Platform 9', 'the community hall', 'Green Leaf Bistro', 'Harbor Deli'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS_IN = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const pad = (n) => String(n).padStart(2, '0');

/** Spoken time ("2:30 pm", "9 am", "noon") and its 24-hour form. */
function time() {
  if (rand() < 0.06) return ['noon', '12:00'];
  const h12 = 1 + Math.floor(rand() * 12);
  const min = pick([0, 0, 0, 15, 30, 30, 45]);
  const pm = rand() < 0.6;
  const h24 = (h12 % 12) + (pm ? 12 : 0);
  const spoken = min === 0 ? `${h12} ${pm ? 'pm' : 'am'}` : `${h12}:${pad(min)} ${pm ? 'pm' : 'am'}`;
  return [spoken, `${pad(h24)}:${pad(min)}`];
}

function date() {
  const m = Math.floor(rand() * 12);
  const d = 1 + Math.floor(rand() * DAYS_IN[m]);
  const spoken = rand() < 0.5 ? `${MONTHS[m]} ${d}` : `the ${ordinal(d)} of ${MONTHS[m]}`;
  return [spoken, `${pad(m + 1)}-${pad(d)}`];
}

function ordinal(d) {
  const s = d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th';
  return `${d}${s}`;
}

const PHRASINGS = [
  (a, p, w, d, t) => `Can we grab ${a} with ${p} at ${w} on ${d} at ${t}?`,
  (a, p, w, d, t) => `Put ${a} with ${p} in my calendar: ${d}, ${t}, ${w}.`,
  (a, p, w, d, t) => `Remind me about ${a} with ${p} on ${d} at ${t} at ${w}.`,
  (a, p, w, d, t) => `${p} wants ${a} at ${w}, ${d} around ${t}.`,
  (a, p, w, d, t) => `On ${d} at ${t} I have ${a} with ${p} (${w}).`,
  (a, p, w, d, t) => `Schedule ${a} with ${p} for ${t} on ${d}. Location: ${w}.`,
  (a, p, w, d, t) => `hey, ${a} w/ ${p} at ${w}? ${d}, ${t} works`,
];

const seen = new Set();
const lines = [];
while (lines.length < count) {
  const [activity, title] = pick(ACTIVITIES);
  const person = pick(PEOPLE);
  const place = pick(PLACES);
  const [spokenDate, isoDate] = date();
  const [spokenTime, clock] = time();
  const user = pick(PHRASINGS)(activity, person, place, spokenDate, spokenTime);
  if (seen.has(user)) continue;
  seen.add(user);
  const where = place.replace(/^the /, (m) => m[0].toUpperCase() + m.slice(1));
  const assistant = `EVENT: ${title} with ${person} | WHERE: ${where} | WHEN: ${isoDate} ${clock}`;
  lines.push(JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] }));
}

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, lines.join('\n') + '\n');
console.log(`wrote ${lines.length} examples to ${outFile}`);
