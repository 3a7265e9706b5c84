/** Float64 references for the Miras scan (see scan.ts for the API, tensors and semantics). */
export { referenceScan, referenceScanGrad, scanInputDecls, scanOutputDecls, SCAN_TENSORS, LN_EPS, type ScanArrays, type ScanTensorInfo } from './scan';
export { Tape, Var } from './tape';
export { mirasReferenceProvider, referenceProviderFor, providerInputs, comboId } from './provider';
export { randomCombo, randomScanInputs, Rng } from './random';
