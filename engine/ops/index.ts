/** The op set. Each file holds one op: shape rules, float64 reference fwd/bwd and WGSL fwd/bwd side by side. */
export { matmul, matmulOp } from './matmul';
export { unary, unaryOp, UNARY, registerUnary, silu, gelu, sigmoid, softplus, exp, elu1, type UnaryName, type UnaryFn } from './unary';
export { add, sub, mul, div, binaryOp, broadcastShape } from './binary';
export { sum, mean, reduceOp } from './reduce';
export { reshape, reshapeOp } from './reshape';
export { pad, padOp } from './pad';
export { embedding, embeddingOp } from './embedding';
export { rmsnorm, layernorm, groupnorm, l2normalize, rmsnormGroups, normOp } from './norm';
export { shortConv, shortConvOp } from './conv';
export { crossEntropy, crossEntropyOp } from './cross-entropy';
export { attention, attentionOp } from './attention';
export { linearAttentionProvider } from './linear-scan';
export { scan, scanOp } from '../ir/scan';
