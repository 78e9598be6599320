// sample_argmax: one level of a workgroup-parallel argmax over logits [V] (V up to 151936+).
// Workgroup g reduces entries [g·CHUNK, (g+1)·CHUNK) of its input to the best (index, value):
// larger value first, lower index among equal values. Levels repeat over the per-workgroup
// results until one workgroup remains; its output is the answer.
//   level 0 (p.fromLogits = 1): input logits[i] with index i
//   later levels:               input cand[i] = (index, value) from the previous level
// Shapes: out Cand [ceil(n/CHUNK)]; logits f32 [V]; cand Cand [n]. n = entries of this level.
// Bindings: 0 out (rw), 1 logits, 2 cand (must differ from out), 3 params {n, fromLogits}
// Grid: 2-D over ceil(n/CHUNK) workgroups. CHUNK = WG·ITEMS. Workgroup memory: 2·WG words.
// Logits must be finite (implementations may assume no NaN/inf).
override WG: u32 = 256;
override ITEMS: u32 = 4;

struct Cand { i: u32, v: f32 }  // index first: out[0] read as u32 is the token id
struct Params { n: u32, fromLogits: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<Cand>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> cand: array<Cand>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> sv: array<f32, WG>;
var<workgroup> si: array<u32, WG>;

fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let base = g * WG * ITEMS;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var r = 0u; r < ITEMS; r++) {
    let e = base + r * WG + tid; // strided so neighbouring invocations read neighbouring words
    if (e < p.n) {
      var v: f32; var i: u32;
      if (p.fromLogits == 1u) { v = logits[e]; i = e; } else { let c = cand[e]; v = c.v; i = c.i; }
      if (better(v, i, bv, bi)) { bv = v; bi = i; }
    }
  }
  sv[tid] = bv;
  si[tid] = bi;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (tid < s && better(sv[tid + s], si[tid + s], sv[tid], si[tid])) {
      sv[tid] = sv[tid + s];
      si[tid] = si[tid + s];
    }
  }
  if (tid == 0u) { out[g] = Cand(si[0], sv[0]); }
}
