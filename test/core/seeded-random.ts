/**
 * A seeded PRNG for the statistics simulations: mulberry32 (a small 32-bit generator, good
 * enough for Monte Carlo at these sizes), so every run draws the same experiments.
 */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    /** A standard normal draw (Box–Muller). */
    normal: () => {
      const u = 1 - uniform();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
    bernoulli: (p: number) => (uniform() < p ? 1 : 0),
  };
}

export type Random = ReturnType<typeof seededRandom>;
