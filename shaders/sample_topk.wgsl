// sample_topk: one level of a workgroup-parallel top-K selection over logits [V].
// Workgroup g sorts entries [g·CHUNK, (g+1)·CHUNK) of its input with a bitonic sort in
// workgroup memory (larger value first, lower index among equal values) and writes its
// best K, in order. The top K of a union is the top K of the per-chunk top Ks, so levels
// repeat over the per-workgroup results (CHUNK/K times fewer entries each) until one
// workgroup remains; its output is the global top K, sorted.
//   level 0 (p.fromLogits = 1): input logits[i] with index i
//   later levels:               input cand[i] = (index, value) from the previous level
// Entries past the input are (index 0xffffffff, value -3.4e38): they sort last.
// Shapes: out Cand [ceil(n/CHUNK)·K]; logits f32 [V]; cand Cand [n]. K <= CHUNK/2.
// Bindings: 0 out (rw), 1 logits, 2 cand (must differ from out), 3 params {n, K, fromLogits}
// Grid: 2-D over ceil(n/CHUNK) workgroups. CHUNK = 2·WG·PAIRS (a power of two).
// Workgroup memory: 2·CHUNK words (8 KiB at CHUNK = 1024).
override WG: u32 = 256;
override PAIRS: u32 = 2;  // compare-exchange pairs per invocation per step
override CHUNK: u32 = 1024;

struct Cand { i: u32, v: f32 }
struct Params { n: u32, K: u32, fromLogits: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<Cand>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> cand: array<Cand>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> sv: array<f32, CHUNK>;
var<workgroup> si: array<u32, CHUNK>;

fn before(av: f32, ai: u32, bv: f32, bi: u32) -> bool {
  return av > bv || (av == bv && ai < bi);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let base = g * CHUNK;
  for (var x = tid; x < CHUNK; x += WG) {
    let e = base + x;
    var v = -3.4e38;
    var i = 0xffffffffu;
    if (e < p.n) {
      if (p.fromLogits == 1u) { v = logits[e]; i = e; } else { let c = cand[e]; v = c.v; i = c.i; }
    }
    sv[x] = v;
    si[x] = i;
  }
  // Bitonic sort: blocks of size k alternate direction until the final merge (k = CHUNK)
  // which sorts the whole chunk in "before" order.
  for (var k = 2u; k <= CHUNK; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      workgroupBarrier();
      for (var r = 0u; r < PAIRS; r++) {
        let t = tid + r * WG;              // pair index in [0, CHUNK/2)
        let x = (t / j) * 2u * j + t % j;  // lower element of the pair; partner is x + j
        let y = x + j;
        let inOrder = before(sv[x], si[x], sv[y], si[y]);
        let forward = (x & k) == 0u;       // this block sorts in "before" order
        if (inOrder != forward && !(sv[x] == sv[y] && si[x] == si[y])) {
          let tv = sv[x]; sv[x] = sv[y]; sv[y] = tv;
          let ti = si[x]; si[x] = si[y]; si[y] = ti;
        }
      }
    }
  }
  workgroupBarrier();
  for (var x = tid; x < p.K; x += WG) { out[g * p.K + x] = Cand(si[x], sv[x]); }
}
