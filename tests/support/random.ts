/**
 * The one seeded PRNG of the tests: the simulator's own mulberry32, so "random" test data
 * is the same on every run and a failing case reproduces from its seed.
 */
export { seededRandom } from '../../services/simulator/random.ts';
