import { Rng, seedFromString } from "../../../src/dirac/random.js"
const r = Rng.fromSeed(seedFromString("/00000/00000"))
console.log(seedFromString("/00000/00000"), Array.from(r.fillNormal(new Float32Array(6))))
const q = Rng.fromSeed(42); console.log(q.state(), q.uniform(), q.normal(), q.state())
