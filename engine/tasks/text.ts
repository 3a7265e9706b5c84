/**
 * Character-level language modelling. The text is the bundled public-domain corpus
 * (engine/data/corpus.ts) or the user's own text; the vocabulary is its set of characters
 * (Unicode code points, sorted). The last `evalFraction` of the text is held out for eval.
 * A batch row is a random window of seqLen+1 characters from its split: inputs are the first
 * seqLen, targets the next character at every position.
 */
import { z } from 'zod';
import { CORPUS } from '../data/corpus';
import { Rng } from './rng';
import { checkBatchArgs, type Task, type TaskInfo } from './types';

export const TextSettings = z.object({
  text: z.string().min(1, 'the text is empty').nullable().default(null)
    .describe('Training text (e.g. an uploaded .txt file); null = the bundled public-domain corpus.'),
  evalFraction: z.number().min(0.01).max(0.5).default(0.1)
    .describe('Fraction of the text, taken from its end, held out for evaluation.'),
});
export type TextSettings = z.infer<typeof TextSettings>;

export const TEXT_INFO: TaskInfo<typeof TextSettings> = {
  name: 'text',
  title: 'Character-level text',
  description:
    'Next-character prediction on the bundled public-domain corpus or your own text file. The last part of the ' +
    'text is held out for evaluation. Loss at every position; generated samples show what the model learned.',
  citation: 'Character-level language modelling (Karpathy, char-rnn, 2015); corpus: see docs/tasks.md',
  settings: TextSettings,
  hasAccuracy: false,
  suggested: { seqLen: 64, batch: 16, steps: 500, lr: 3e-3 },
};

export interface TextTask extends Task<TextSettings> {
  /** The characters of the vocabulary, index = token id. */
  chars: string[];
  /** Lengths (in characters) of the train and eval splits. */
  splitSizes: { train: number; eval: number };
  encode(text: string): number[];
}

export function createText(s: TextSettings, seed: number): TextTask {
  const source = s.text ?? CORPUS;
  const codePoints = Array.from(source);
  const chars = [...new Set(codePoints)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const ids = Int32Array.from(codePoints, (c) => index.get(c)!);
  const evalLen = Math.max(1, Math.floor(ids.length * s.evalFraction));
  const trainIds = ids.subarray(0, ids.length - evalLen);
  const evalIds = ids.subarray(ids.length - evalLen);
  return {
    name: 'text',
    vocabSize: chars.length,
    settings: s,
    seed,
    hasAccuracy: false,
    minSeqLen: 1,
    chars,
    splitSizes: { train: trainIds.length, eval: evalIds.length },
    batch(batchSize, L, split, step) {
      checkBatchArgs('text', batchSize, L, 1, step);
      const src = split === 'train' ? trainIds : evalIds;
      if (src.length < L + 1) {
        throw new Error(
          `task text: the ${split} split has ${src.length} characters, fewer than sequence length + 1 = ${L + 1}; ` +
            `use a longer text, a shorter sequence${split === 'eval' ? ' or a larger evalFraction' : ''}`,
        );
      }
      const inputs = new Int32Array(batchSize * L);
      const targets = new Int32Array(batchSize * L);
      for (let b = 0; b < batchSize; b++) {
        const start = Rng.forRow(seed, split, step, b).int(0, src.length - L);
        inputs.set(src.subarray(start, start + L), b * L);
        targets.set(src.subarray(start + 1, start + L + 1), b * L);
      }
      return { inputs, targets };
    },
    decode: (tokens) => Array.from(tokens, (t) => chars[t] ?? '\uFFFD').join(''),
    encode(text) {
      return Array.from(text, (c) => {
        const id = index.get(c);
        if (id === undefined) throw new Error(`task text: the character ${JSON.stringify(c)} is not in the training text's vocabulary`);
        return id;
      });
    },
  };
}
