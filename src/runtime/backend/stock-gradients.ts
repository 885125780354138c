/**
 * Registers tfjs' stock gradients and chained tensor methods.
 *
 * `@tensorflow/tfjs-core`'s Node entry point (`dist/tf-core.node.js`)
 * registers *no* gradients and no chained ops (`x.sum()`, ...): the
 * `@tensorflow/tfjs` union package normally pulls them in from
 * `@tensorflow/tfjs-core/dist/register_all_gradients` and
 * `.../public/chained_ops/register_all_chained_ops`. This project depends on
 * tfjs-core alone, so without this module `tf.grad`/`optimizer.minimize` fail
 * with "gradient function not found".
 *
 * Those two files are ES modules with extension-less relative imports
 * (`'./gradients/Abs_grad'`) in a package without `"type": "module"`, which
 * Node's ESM loader rejects. A resolve hook (`module.register`, Node >= 20.6)
 * scoped to importers inside `@tensorflow/tfjs-core/dist/` appends `.js` and
 * marks them as ESM. The ESM copy of tfjs-core internals this loads shares
 * the engine, kernel/gradient registries and Tensor class with the main copy
 * through tfjs' global namespace, which is how the union package works too.
 * Cost: ~0.6 s once per process.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as nodeModule from "node:module"

const HOOK_SOURCE = `
const DIST = "/@tensorflow/tfjs-core/dist/";
export async function resolve(specifier, context, next) {
  const parent = context.parentURL || "";
  if (!parent.includes(DIST)) return next(specifier, context);
  if ((specifier.startsWith("./") || specifier.startsWith("../")) && !/\\.[cm]?js$/.test(specifier)) {
    const r = await next(specifier + ".js", context);
    return { ...r, format: "module" };
  }
  const r = await next(specifier, context);
  return r.url.includes(DIST) ? { ...r, format: "module" } : r;
}
`

let loading: Promise<void> | undefined

const GRADIENTS = "@tensorflow/tfjs-core/dist/register_all_gradients.js"
const CHAINED_OPS = "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js"

/** Idempotent: registers tfjs-core's gradients and chained ops once per process. */
export function ensureStockGradients(): Promise<void> {
  if (loading) return loading
  // Already provided by someone else (e.g. the @tensorflow/tfjs union package)?
  if (tf.getGradient(tf.Relu) != null && typeof (tf.Tensor.prototype as unknown as { sum?: unknown }).sum === "function") {
    loading = Promise.resolve()
    return loading
  }
  loading = (async () => {
    const register = (nodeModule as { register?: (specifier: string, parentURL: string) => void }).register
    if (typeof register !== "function") {
      throw new Error("registering tfjs gradients needs node:module.register (Node >= 20.6)")
    }
    register(`data:text/javascript,${encodeURIComponent(HOOK_SOURCE)}`, import.meta.url)
    const load = (specifier: string): Promise<unknown> => import(specifier)
    await load(GRADIENTS)
    await load(CHAINED_OPS)
    if (tf.getGradient(tf.Conv2D) == null) {
      throw new Error(`loading ${GRADIENTS} did not register gradients in this @tensorflow/tfjs-core`)
    }
  })()
  loading.catch(() => {
    loading = undefined
  })
  return loading
}
