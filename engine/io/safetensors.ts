/**
 * safetensors reader/writer for engine checkpoints. One implementation serves the engine and the
 * training worker: it lives in engine/worker/safetensors.ts (helper F) and is re-exported here so
 * engine code imports it from engine/io.
 */
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from '../worker/safetensors';
