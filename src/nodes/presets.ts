import { Schema } from "effect"
import { isUNetPresetName, UNET_PRESETS } from "../dirac/network/index.js"

/** The network presets, as the network module defines them. */
export const Preset = Schema.Literals(Object.keys(UNET_PRESETS).filter(isUNetPresetName))
