// preference_weights: a preference objective (DPO or ORPO, train/objectives.ts) on the GPU, from
// the per-row cross-entropy of a micro-batch of pairs, so the backward needs no readback.
// Row layout: sequence b is batch row b (T rows of losses/targets); pair i = rows (2i, 2i+1) =
// (chosen, rejected). A pair with a side that has no completion token is padding: it adds nothing.
//   logps[b]   = −Σ_t losses[b·T + t]        (summed completion log-prob; ignored rows are 0)
//   tokens_b   = #{t : targets[b·T + t] ≠ −100}
// DPO (kind 0), β = coef, ε = smoothing, refLogps = the cached reference log-probs:
//   z = β((pc − rc) − (pr − rr)); loss_i = softplus(−z) + ε·z; dz = (ε − σ(−z)) · invPairs
//   ∂L/∂pc = β·dz, ∂L/∂pr = −β·dz; rewards β(pc − rc), β(pr − rr); logps pc, pr
// ORPO (kind 1), λ = coef, m = logp / tokens (mean per-token log-prob), refLogps unused:
//   x = logodds(mc) − logodds(mr), logodds(m) = m − log(1 − eᵐ)
//   loss_i = −pc·invChosenTokens + λ·softplus(−x)·invPairs (NLL over the step's chosen tokens + odds term)
//   ∂L/∂mc = −λσ(−x)·invPairs / (1 − e^mc) − tokens_c·invChosenTokens, ∂L/∂mr = λσ(−x)·invPairs / (1 − e^mr)
//   ∂L/∂pc = ∂L/∂mc / tokens_c (same for r); rewards λ·mc, λ·mr; logps mc, mr
// invPairs = 1 / pairs of the optimizer step and invChosenTokens = 1 / its chosen completion tokens
// (from the host), so micro-batches accumulate to exactly the loss of one big batch.
//   weights[b] = −∂L/∂logp_b: the CE kernel's row scale (loss_scale_rows), since logp = −Σ CE.
//   stats[0..7] (+)= Σ_i (loss_i, reward_c, reward_r, reward_c − reward_r, [reward_c > reward_r],
//                  logp metric c, logp metric r) · invPairs (loss_i already carries it), stats[7] += pairs.
// Overwrites stats when accumulate = 0, adds when 1.
// Shapes: losses, targets [B·T]; refLogps, weights, logps [B] (B even, ≤ WG·2); stats [8].
// Bindings: 0 weights (rw), 1 logps (rw), 2 stats (rw), 3 losses (r), 4 targets (r), 5 refLogps (r),
// 6 params {B, T, kind, accumulate, coef, smoothing, invPairs, invChosenTokens}
// One workgroup. Needs blockSum from a reduce_lib_*.wgsl, prepended by the launcher.
override WG: u32 = 256;
const MAX_ROWS: u32 = 512u;

struct Params { B: u32, T: u32, kind: u32, accumulate: u32, coef: f32, smoothing: f32, invPairs: f32, invChosenTokens: f32 }

@group(0) @binding(0) var<storage, read_write> weights: array<f32>;
@group(0) @binding(1) var<storage, read_write> logps: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read> losses: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<i32>;
@group(0) @binding(5) var<storage, read> refLogps: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> seqLogp: array<f32, MAX_ROWS>;
var<workgroup> seqTokens: array<f32, MAX_ROWS>;

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log1p(exp(-abs(x)));
}
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
// expm1 and log1p without cancellation (Kahan's tricks; WGSL has neither).
fn expm1(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  return um1 * x / log(u);
}
fn log1p(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);
}
// log(1 − eˣ) for x < 0 (Mächler's log1mexp).
fn log1mexp(x: f32) -> f32 {
  return select(log1p(-exp(x)), log(-expm1(x)), x > -0.6931471805599453);
}
fn logOdds(m: f32) -> f32 {
  return m - log1mexp(m);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  // Per-sequence sums: every invocation strides over the row, then one block reduction per row.
  for (var b = 0u; b < p.B; b = b + 1u) {
    var s = 0.0;
    var n = 0.0;
    for (var t = lid; t < p.T; t = t + WG) {
      s = s + losses[b * p.T + t];
      n = n + select(0.0, 1.0, targets[b * p.T + t] != -100);
    }
    let S = blockSum(s, lid);
    let N = blockSum(n, lid);
    if (lid == 0u) {
      seqLogp[b] = -S;
      seqTokens[b] = N;
    }
  }
  workgroupBarrier();

  var st = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  let i = lid;
  if (2u * i + 1u < p.B) {
    let c = 2u * i;
    let r = c + 1u;
    let pc = seqLogp[c];
    let pr = seqLogp[r];
    let nc = seqTokens[c];
    let nr = seqTokens[r];
    logps[c] = pc;
    logps[r] = pr;
    var wc = 0.0; // ∂L/∂logp of each side
    var wr = 0.0;
    if (nc > 0.0 && nr > 0.0) {
      var rewardC = 0.0;
      var rewardR = 0.0;
      if (p.kind == 0u) {
        let beta = p.coef;
        rewardC = beta * (pc - refLogps[c]);
        rewardR = beta * (pr - refLogps[r]);
        let z = beta * ((pc - refLogps[c]) - (pr - refLogps[r]));
        st[0] = (softplus(-z) + p.smoothing * z) * p.invPairs;
        let dz = (p.smoothing - sigmoid(-z)) * p.invPairs;
        wc = beta * dz;
        wr = -beta * dz;
        st[5] = pc;
        st[6] = pr;
      } else {
        let lam = p.coef;
        let mc = pc / nc;
        let mr = pr / nr;
        let x = logOdds(mc) - logOdds(mr);
        st[0] = -pc * p.invChosenTokens + lam * softplus(-x) * p.invPairs;
        let dx = -lam * sigmoid(-x) * p.invPairs;
        wc = (dx / -expm1(mc) - nc * p.invChosenTokens) / nc;
        wr = (-dx / -expm1(mr)) / nr;
        rewardC = lam * mc;
        rewardR = lam * mr;
        st[5] = mc;
        st[6] = mr;
      }
      st[1] = rewardC;
      st[2] = rewardR;
      st[3] = rewardC - rewardR;
      st[4] = select(0.0, 1.0, rewardC > rewardR);
      st[7] = 1.0;
    }
    weights[c] = -wc;
    weights[r] = -wr;
  }
  for (var k = 0u; k < 8u; k = k + 1u) {
    // Loss is already a share of the step's mean; the metrics become means here; pairs stay a count.
    let scale = select(select(p.invPairs, 1.0, k == 0u), 1.0, k == 7u);
    let total = blockSum(st[k], lid) * scale;
    if (lid == 0u) {
      stats[k] = select(0.0, stats[k], p.accumulate != 0u) + total;
    }
  }
}
