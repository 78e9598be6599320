// Draws the studio's icons (no external assets): an accent-blue tile with a white "L" made of
// a tall thin bar (LoRA's B, out × r) and a wide thin bar (A, r × in), the low-rank update.
// Writes PNGs with a minimal encoder (node:zlib) plus the same drawing as SVG.
//   node scripts/make-icons.mjs   → public/icons/*.png, public/icons/icon.svg
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';

const OUT = new URL('../public/icons/', import.meta.url);
const ACCENT = [0x29, 0x48, 0xc8];
const WHITE = [0xff, 0xff, 0xff];

// Geometry in a 0..1 square. `inset` shrinks the drawing into the maskable safe zone.
function shapes(inset) {
  const s = (v) => inset + v * (1 - 2 * inset);
  return [
    { x0: s(0.28), y0: s(0.2), x1: s(0.42), y1: s(0.8) }, // B: tall, thin
    { x0: s(0.28), y0: s(0.66), x1: s(0.78), y1: s(0.8) }, // A: wide, thin
    { x0: s(0.52), y0: s(0.2), x1: s(0.78), y1: s(0.56), outline: 0.035 }, // W: the frozen matrix
  ];
}

function inside(px, py, sh) {
  const inBox = px >= sh.x0 && px < sh.x1 && py >= sh.y0 && py < sh.y1;
  if (!inBox || !sh.outline) return inBox;
  const o = sh.outline;
  return px < sh.x0 + o || px >= sh.x1 - o || py < sh.y0 + o || py >= sh.y1 - o;
}

/** RGBA pixels; `rounded` cuts transparent corners, `maskable` fills the full square. */
function draw(size, { maskable }) {
  const px = new Uint8Array(size * size * 4);
  const SS = 4; // supersampling per axis for anti-aliased edges
  const radius = 0.2;
  const sh = shapes(maskable ? 0.1 : 0);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let cover = 0;
      let white = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const u = (x + (sx + 0.5) / SS) / size;
          const v = (y + (sy + 0.5) / SS) / size;
          let inTile = true;
          if (!maskable) {
            const cx = Math.min(Math.max(u, radius), 1 - radius);
            const cy = Math.min(Math.max(v, radius), 1 - radius);
            inTile = (u - cx) ** 2 + (v - cy) ** 2 <= radius * radius;
          }
          if (!inTile) continue;
          cover++;
          if (sh.some((s) => inside(u, v, s))) white++;
        }
      }
      const n = SS * SS;
      const i = (y * size + x) * 4;
      const w = cover ? white / cover : 0;
      for (let c = 0; c < 3; c++) px[i + c] = Math.round(ACCENT[c] * (1 - w) + WHITE[c] * w);
      px[i + 3] = Math.round((255 * cover) / n);
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** PNG, 8-bit RGBA, no interlace, filter 0 on every row. */
export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) Buffer.from(rgba.subarray(y * size * 4, (y + 1) * size * 4)).copy(raw, y * (size * 4 + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

function svg() {
  const hex = (c) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
  const r = (s) => `<rect x="${s.x0 * 100}" y="${s.y0 * 100}" width="${((s.x1 - s.x0) * 100).toFixed(1)}" height="${((s.y1 - s.y0) * 100).toFixed(1)}"`;
  const [b, a, w] = shapes(0);
  const o = w.outline * 100;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="20" fill="${hex(ACCENT)}"/>` +
    `${r(b)} fill="#fff"/>${r(a)} fill="#fff"/>` +
    `<rect x="${w.x0 * 100 + o / 2}" y="${w.y0 * 100 + o / 2}" width="${((w.x1 - w.x0) * 100 - o).toFixed(1)}" height="${((w.y1 - w.y0) * 100 - o).toFixed(1)}" fill="none" stroke="#fff" stroke-width="${o}"/></svg>\n`;
}

mkdirSync(OUT, { recursive: true });
for (const size of [192, 512]) {
  writeFileSync(new URL(`icon-${size}.png`, OUT), encodePng(size, draw(size, { maskable: false })));
  writeFileSync(new URL(`maskable-${size}.png`, OUT), encodePng(size, draw(size, { maskable: true })));
}
writeFileSync(new URL('apple-touch-icon-180.png', OUT), encodePng(180, draw(180, { maskable: true })));
writeFileSync(new URL('icon.svg', OUT), svg());
console.log('icons written to public/icons/');
