import { Layer } from "effect"
import { initBackend } from "../../src/runtime/backend/index.js"
import { ArtifactStore } from "../../src/runtime/ArtifactStore.js"
import { EventBus } from "../../src/runtime/EventBus.js"
import { NodeRegistry } from "../../src/runtime/NodeRegistry.js"
import { Seeds } from "../../src/runtime/Seeds.js"
import { TensorBackend } from "../../src/runtime/TensorBackend.js"
import { testKinds } from "../fixtures/kinds.js"

/** The runtime's services over a cache folder, with the test kinds and the JS cpu backend. */
export const testRuntimeLayer = (cache: string, seed: number) =>
  Layer.mergeAll(
    ArtifactStore.layer(cache),
    EventBus.layer,
    Layer.effect(
      TensorBackend,
      TensorBackend.make(undefined, () => initBackend("cpu")),
    ),
    NodeRegistry.layer(testKinds),
    Seeds.layer(seed),
  )
