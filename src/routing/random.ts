// Deterministic randomness for routing: a seeded generator for anything drawn
// at random (jitter, a split for a caller with no key, Thompson samples) and a
// stable hash for anything that must land the same way every time (a caller's
// experiment variant). Tests seed the one and rely on the other.

/** Uniform in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny 32-bit generator with good statistical quality for
 * simulation and jitter (not for secrets). Same seed, same sequence.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A stable position in [0, 1) for a key: FNV-1a over the UTF-16 code units,
 * then murmur3's finaliser so that keys differing in one character (caller-1,
 * caller-2) spread evenly instead of clustering.
 */
export function hashUnit(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 4294967296;
}

/** A standard normal draw (Box-Muller). */
export function normalDraw(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Gamma(shape, 1) draw: Marsaglia and Tsang, with the boost for shape < 1. */
export function gammaDraw(random: Random, shape: number): number {
  if (shape < 1) return gammaDraw(random, shape + 1) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalDraw(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(alpha, beta) draw. */
export function betaDraw(random: Random, alpha: number, beta: number): number {
  const x = gammaDraw(random, alpha);
  const y = gammaDraw(random, beta);
  return x / (x + y);
}
